# RabbitMQ: publish with confirms, then consume with acks, on a private broker
# on 127.0.0.1 (tests/broker.sh) started and stopped here. Each publish run
# fills a durable queue of its own, which the consume run of the same number
# drains: quorum queues (RabbitMQ's replicated durable queue) and streams.
AMQPDIR="$W/amqp-broker"
rm -rf "$AMQPDIR"
# amqprow NAME KIND PARAMS: a row whose run n uses queue KIND-n
amqprow() {
	echo 0 > "$W/amqp-$2"
	row amqp "$1" "$EVENTS" "n=\$(cat $W/amqp-$2); echo \$((n + 1)) > $W/amqp-$2; $3"
}
if AMQPPORT=$(BROKER_TIMEOUT=${BROKER_TIMEOUT:-180} sh "$HERE/../tests/broker.sh" start "$AMQPDIR"); then
	A="amqp://127.0.0.1:$AMQPPORT"
	amqprow "evfilter -o amqp://?queue=quorum (publish)" qpub \
		"evfilter true -o \"$A/?queue=q\$n&declare=1&queue_type=quorum\""
	amqprow "evfilter -i amqp://?queue=quorum (consume)" qcon \
		"evfilter --no-follow true -i \"$A/?queue=q\$n&idle=100ms\""
	amqprow "evfilter -o amqp://?queue=stream (publish)" spub \
		"evfilter true -o \"$A/?queue=s\$n&declare=1&queue_type=stream\""
	# a stream has no count to drain: --count ends the run at its last event
	amqprow "evtail --from-start --count N amqp://?stream" scon \
		"evtail --no-follow --from-start --count $N \"$A/?queue=s\$n\""
	# the two-machine recipe: spool -> evtail --cursor -> broker -> evtail -> spool
	rm -rf "$W/amqp-out" "$W/amqp-in"
	evspool init "$W/amqp-out" && evfilter true "$EVENTS" -o "$W/amqp-out"
	amqprow "evtail spool --cursor -o amqp:// (publish)" tpub \
		"evtail --no-follow --from-start --cursor c\$n $W/amqp-out -o \"$A/?queue=t\$n&declare=1&queue_type=quorum\""
	amqprow "evtail amqp:// -o spool (consume)" tcon \
		"rm -rf $W/amqp-in && evspool init $W/amqp-in && evtail --no-follow -o $W/amqp-in \"$A/?queue=t\$n&idle=100ms\""
	rm -rf "$W/amqp-out" "$W/amqp-in"
	sh "$HERE/../tests/broker.sh" stop "$AMQPDIR"
else
	echo "case-60-amqp: no broker (install rabbitmq-server): amqp rows skipped" >&2
fi
