# SPDX-License-Identifier: ISC
# RabbitMQ: publish with confirms, then consume with acks, on a private broker
# on 127.0.0.1 (tests/broker.sh) started here and stopped at the end, with
# $AMQP_N events. Run k of a publish row fills a durable queue of its own,
# which run k of the consume row below it drains (run 1 is the untimed
# sample check): quorum queues (RabbitMQ's replicated durable queue) and
# streams. The broker gets BROKER_TIMEOUT seconds to start (60 here, not the
# tests' 180, to keep the bench within its 5 minutes). A consume run
# ends when nothing has come for 1 s (idle=1s), which its time
# includes: a shorter idle ends a run early when the machine is busy, and
# even 1 s could, so every consume run is counted.
AMQPDIR="$W/amqp-broker"
AMQPIN=$(head_of "$AMQP_N" "$EVENTS")
AMQPCHECK=$(lines_of "$(head_of "$CHECK_N" "$AMQPIN")")
# amqprow GROUP NAME KIND CMD: CMD runs with $n, the number of this run of
# the row
amqprow() {
	echo 0 > "$W/amqp-$3"
	ROW_SETUP="echo \$((\$(cat '$W/amqp-$3') + 1)) > '$W/amqp-$3'"
	row "$1" "$2" "$AMQPIN" "n=\$(cat '$W/amqp-$3'); $4"
}
if ! command -v rabbitmq-server > /dev/null 2>&1 && [ ! -x "${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}" ]; then
	skip amqp "no RabbitMQ broker here (install rabbitmq-server)"
elif AMQPPORT=$(BROKER_TIMEOUT=${BROKER_TIMEOUT:-60} sh "$HERE/../tests/broker.sh" start "$AMQPDIR" 2> "$W/broker.err"); then
	at_exit "sh '$HERE/../tests/broker.sh' stop '$AMQPDIR' 2> /dev/null"
	A="amqp://127.0.0.1:$AMQPPORT"
	ROW_EXPECT=0
	amqprow amqp-quorum "evfilter -o amqp://?queue=quorum (publish)" qpub \
		"evfilter true -o \"$A/?queue=q\$n&declare=1&queue_type=quorum\""
	ROW_EXPECT=$AMQPCHECK ROW_RUN_EXPECT=$AMQP_N
	amqprow amqp-quorum "evfilter -i amqp://?queue=quorum (+1 s idle)" qcon \
		"evfilter --no-follow true -i \"$A/?queue=q\$n&idle=1s\""
	# the CloudEvents binary content mode: data as the body, attributes as
	# headers, made an event again on the way in
	ROW_EXPECT=0
	amqprow amqp-binary "evfilter -o amqp://?queue=quorum&mode=binary (publish)" bpub \
		"evfilter true -o \"$A/?queue=b\$n&declare=1&queue_type=quorum&mode=binary\""
	ROW_EXPECT=$AMQPCHECK ROW_RUN_EXPECT=$AMQP_N
	amqprow amqp-binary "evfilter -i amqp://?queue=quorum, binary (+1 s idle)" bcon \
		"evfilter --no-follow true -i \"$A/?queue=b\$n&idle=1s\""
	ROW_EXPECT=0
	amqprow amqp-stream "evfilter -o amqp://?queue=stream (publish)" spub \
		"evfilter true -o \"$A/?queue=s\$n&declare=1&queue_type=stream\""
	# a stream has no count to drain: --count ends the run at its last event
	# (run 1, the sample check, reads $AMQPCHECK events)
	ROW_EXPECT=$AMQPCHECK ROW_RUN_EXPECT=$AMQP_N
	amqprow amqp-stream "evtail --from-start --count N amqp://?stream" scon \
		"c=$AMQP_N; [ \$n -eq 1 ] && c=$AMQPCHECK; evtail --no-follow --from-start --count \$c \"$A/?queue=s\$n\""
	# the two-machine recipe: spool -> evtail --cursor -> broker -> evtail ->
	# spool, on a spool of $AMQP_N events (each run publishes all of it)
	rm -rf "$W/amqp-out" "$W/amqp-in"
	if evspool init "$W/amqp-out" && evfilter true "$AMQPIN" -o "$W/amqp-out"; then
		ROW_EXPECT=0
		amqprow amqp-recipe "evtail spool --cursor -o amqp:// (publish)" tpub \
			"evtail --no-follow --from-start --cursor c\$n '$W/amqp-out' -o \"$A/?queue=t\$n&declare=1&queue_type=quorum\""
		ROW_EXPECT=$AMQP_N ROW_RUN_EXPECT=$AMQP_N
		ROW_COUNT="cat '$W/amqp-in'/segments/*.ndjson | wc -l"
		amqprow amqp-recipe "evtail amqp:// -o spool (consume, +1 s idle)" tcon \
			"rm -rf '$W/amqp-in' && evspool init '$W/amqp-in' && evtail --no-follow -o '$W/amqp-in' \"$A/?queue=t\$n&idle=1s\""
	else
		skip amqp-recipe "cannot fill a spool with evfilter -o"
	fi
	rm -rf "$W/amqp-out" "$W/amqp-in"
	sh "$HERE/../tests/broker.sh" stop "$AMQPDIR" 2> /dev/null
else
	skip amqp "the private broker did not start: $(grep '^broker.sh:' "$W/broker.err" | tail -n 1)"
fi
