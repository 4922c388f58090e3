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
	ROW_EXPECT=0
	amqprow amqp-stream "evfilter -o amqp://?queue=stream (publish)" spub \
		"evfilter true -o \"$A/?queue=s\$n&declare=1&queue_type=stream\""
	ROW_EXPECT=$AMQPCHECK ROW_RUN_EXPECT=$AMQP_N
	amqprow amqp-stream "evfilter -i amqp://?stream_offset=first (+1 s idle)" scon \
		"evfilter --no-follow true -i \"$A/?queue=s\$n&stream_offset=first&idle=1s\""
	sh "$HERE/../tests/broker.sh" stop "$AMQPDIR" 2> /dev/null
else
	skip amqp "the private broker did not start: $(grep '^broker.sh:' "$W/broker.err" | tail -n 1)"
fi
