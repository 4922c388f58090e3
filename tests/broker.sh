#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/broker.sh — a private RabbitMQ broker on loopback for the tests and the bench.
#
#   tests/broker.sh start DIR    start a broker whose state lives in DIR (created),
#                                wait until it accepts AMQP connections (at most
#                                BROKER_TIMEOUT seconds, default 180), print its port
#   tests/broker.sh stop DIR     stop it (by pid) and its epmd; DIR is kept
#   tests/broker.sh restart DIR  stop, then start again on the same port and data
#   tests/broker.sh kill DIR     kill -9 the broker's VM (a crash); then `start` again
#
# When openssl(1) is there, the broker also listens for AMQP over TLS on the
# port in DIR/tlsport, with a certificate for "localhost" signed by a CA made
# for it (DIR/tls/ca.pem).
#
# Nothing listens beyond 127.0.0.1: the AMQP port, the Erlang distribution port
# and a private epmd are all bound to loopback on ports chosen here, so several
# brokers (parallel test jobs, other checkouts) can run side by side. The node
# name, cookie (in HOME), config, logs and Mnesia data are all inside DIR, and
# no plugin is enabled. Exit 1 with a message on stderr when it cannot start.
set -eu

RMQ=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}
cmd=${1:?usage: broker.sh start|stop|restart|kill DIR}
dir=${2:?usage: broker.sh start|stop|restart|kill DIR}

say() { echo "broker.sh: $*" >&2; }

# A TCP port nobody listens on, in a range the kernel does not hand out.
freeport() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000 ))
		if ! bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' sh "$p" 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# The broker is ready when it answers the AMQP protocol header with its
# connection.start frame (a frame of type 1 starts with byte 0x01).
ready() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "AMQP\0\0\11\1" >&3 &&
		[ "$(head -c 1 <&3 | od -An -tx1 | tr -d " ")" = 01 ]' sh "$1" 2>/dev/null
}

# A CA and a server certificate for localhost (EC keys: quick to make).
mktls() {
	t="$dir/tls"
	mkdir -p "$t"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=evkit-test-ca -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj /CN=localhost -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:localhost\n' > "$t/ext" &&
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
		-days 30 -extfile "$t/ext" -out "$t/server.pem" 2>/dev/null
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
	mkdir -p "$dir/home" "$dir/log" "$dir/mnesia"
	if alive "$dir/server.pid"; then
		cat "$dir/port"
		return
	fi
	if [ ! -x "$RMQ" ]; then
		say "$RMQ is missing: install rabbitmq-server (sh tests/deps.sh)"
		exit 1
	fi
	[ -f "$dir/port" ] || freeport > "$dir/port"
	[ -f "$dir/distport" ] || freeport > "$dir/distport"
	[ -f "$dir/epmdport" ] || freeport > "$dir/epmdport"
	port=$(cat "$dir/port")
	tls=""
	if command -v openssl > /dev/null && { [ -f "$dir/tls/server.pem" ] || mktls; }; then
		[ -f "$dir/tlsport" ] || freeport > "$dir/tlsport"
		tls="listeners.ssl.1 = 127.0.0.1:$(cat "$dir/tlsport")
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/server.pem
ssl_options.keyfile = $dir/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false"
	fi
	: > "$dir/enabled_plugins"
	: > "$dir/rabbitmq-env.conf"
	cat > "$dir/rabbitmq.conf" <<-EOF
	listeners.tcp.1 = 127.0.0.1:$port
	loopback_users = none
	log.console = false
	log.file.level = warning
	$tls
	EOF
	export HOME="$dir/home"
	export ERL_EPMD_PORT="$(cat "$dir/epmdport")" ERL_EPMD_ADDRESS=127.0.0.1
	export RABBITMQ_NODENAME="evkit$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$(cat "$dir/distport")"
	export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
	export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
	export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
	export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
	export RABBITMQ_PID_FILE="$dir/beam.pid"
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
	if ! alive "$dir/epmd.pid"; then
		epmd -port "$ERL_EPMD_PORT" > "$dir/log/epmd.out" 2>&1 &
		echo $! > "$dir/epmd.pid"
	fi
	rm -f "$dir/beam.pid"
	setsid "$RMQ" > "$dir/log/server.out" 2>&1 < /dev/null &
	echo $! > "$dir/server.pid"
	deadline=$(( $(date +%s) + ${BROKER_TIMEOUT:-180} ))
	until ready "$port"; do
		if ! alive "$dir/server.pid"; then
			say "rabbitmq-server exited while starting; its output:"
			tail -n 20 "$dir/log/server.out" >&2
			stop
			exit 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			say "rabbitmq-server not ready on 127.0.0.1:$port after ${BROKER_TIMEOUT:-180} s"
			tail -n 20 "$dir/log/server.out" >&2
			stop
			exit 1
		fi
		sleep 0.2
	done
	echo "$port"
}

# stop PIDFILE: TERM, wait up to 30 s, then KILL.
stoppid() {
	alive "$1" || { rm -f "$1"; return 0; }
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$1"
}

stop() {
	stoppid "$dir/server.pid"
	# the VM itself, should the wrapper have gone first
	stoppid "$dir/beam.pid"
	stoppid "$dir/epmd.pid"
}

case $cmd in
start) start ;;
stop) stop ;;
restart) stoppid "$dir/server.pid"; stoppid "$dir/beam.pid"; start ;;
kill)
	[ -f "$dir/beam.pid" ] && kill -KILL "$(cat "$dir/beam.pid")" 2>/dev/null || true
	stoppid "$dir/server.pid"
	rm -f "$dir/beam.pid"
	;;
*) say "unknown command $cmd"; exit 2 ;;
esac
