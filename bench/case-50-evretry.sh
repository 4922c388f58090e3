# SPDX-License-Identifier: ISC
# evretry: one process per event next to xargs(1) doing the same ($SPAWN_N
# events; both write each handled event out), and co-process mode with a
# trivial handler ($SLOW_N events: every event is a round trip).
SPAWN=$(head_of "$SPAWN_N" "$EVENTS")
row evretry-spawn "xargs -d '\\n' -n1 printf '%s\\n'" "$SPAWN" "xargs -d '\\n' -n1 printf '%s\\n'"
row evretry-spawn "evretry -- true" "$SPAWN" "evretry -- true"
row evretry-spawn "evretry -j 2 -- true" "$SPAWN" "evretry -j 2 -- true"
# The handler alone (it reads every event and answers) is the baseline.
row evretry-coproc "mawk -W interactive '{print \"ok\"}'" "$SLOW" "mawk -W interactive '{print \"ok\"}'"
row evretry-coproc "evretry -p -- mawk ..." "$SLOW" "evretry -p -- mawk -W interactive '{print \"ok\"}'"
row evretry-coproc "evretry -p -j 2 -- mawk ..." "$SLOW" "evretry -p -j 2 -- mawk -W interactive '{print \"ok\"}'"
