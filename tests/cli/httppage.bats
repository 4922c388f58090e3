#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The live page evhttp serves at GET /, in headless Chromium driven over the
# DevTools protocol (tests/browser.py): events published to the spool show
# up in the page's DOM, the type filter and pause work, consumers' lag shows.
# EVKIT_SCREENSHOT=FILE keeps a screenshot of the page.
load helpers

BROWSER="$BATS_TEST_DIRNAME/../browser.py"

setup() {
	T="$BATS_TEST_TMPDIR"
	command -v evhttp > /dev/null || skip "evhttp is not built"
	[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (sh tests/deps.sh installs it)"
	/usr/bin/python3 -c 'import websocket' 2> /dev/null || skip "no python3-websocket"
}

# serve SPOOL: evhttp on a port of its choosing; the page's URL in $URL
serve() {
	bg evhttp -i "$1" -l 127.0.0.1:0 2> "$T/evhttp.log"
	wait_for 60 grep -q 'listening on' "$T/evhttp.log"
	URL="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/evhttp.log")/"
}

@test "the page is one self-contained document: nothing from elsewhere" {
	evspool init "$T/s"
	serve "$T/s"
	curl -sf -D "$T/headers" "$URL" -o "$T/page.html"
	grep -qi '^content-type: text/html' "$T/headers"
	grep -q '<!doctype html>' "$T/page.html"
	# no script, style, image or font fetched from another origin
	! grep -Eiq '(src|href)="(https?:)?//' "$T/page.html"
	! grep -Eiq '@import|url\((https?:)?//' "$T/page.html"
}

@test "events appear as they are published; filter, pause and lag work" {
	evspool init "$T/s"
	evemit -o "$T/s" order.placed n:=0
	evtail --no-follow --cursor mailer --from-start "$T/s" > /dev/null
	serve "$T/s"
	pub() { echo "evemit -o '$T/s' $*"; }
	li="document.querySelectorAll('#events li')"
	visible="[...$li].filter(l => !l.hidden).map(l => l.dataset.type).join(' ')"
	run /usr/bin/python3 "$BROWSER" "$URL" \
		"wait:document.body.dataset.state === 'live'" \
		"run:$(pub order.placed n:=1) && $(pub payment.captured -s /pay subject=ord-1) && $(pub order.shipped carrier=ups)" \
		"wait:$li.length === 3" \
		"print:[...$li].map(l => l.dataset.type).join(' ')" \
		"js:const f = document.getElementById('filter'); f.value = 'order.*'; f.dispatchEvent(new Event('input'))" \
		"print:$visible" \
		"print:document.getElementById('shown').textContent" \
		"js:document.getElementById('pause').click()" \
		"run:$(pub order.cancelled)" \
		"wait:document.getElementById('waiting').textContent.includes('1 waiting')" \
		"print:$li.length" \
		"js:document.getElementById('pause').click()" \
		"wait:$li.length === 4" \
		"print:$visible" \
		"wait:(document.querySelector('#consumers tr[data-cursor=mailer] .lag') || {}).textContent === '4'" \
		"shot:$T/page.png"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '"order.shipped payment.captured order.placed"' ]
	[ "${lines[1]}" = '"order.shipped order.placed"' ]
	[ "${lines[2]}" = '"2"' ]
	[ "${lines[3]}" = '3' ]
	[ "${lines[4]}" = '"order.cancelled order.shipped order.placed"' ]
	[ -s "$T/page.png" ]
	[ -z "${EVKIT_SCREENSHOT:-}" ] || cp "$T/page.png" "$EVKIT_SCREENSHOT"
}

