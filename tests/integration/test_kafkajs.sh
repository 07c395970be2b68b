#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_kafkajs.sh: kafkajs 2 produces keyed messages with headers (acks -1)
# and a consumer group reads every one back exactly once; a second run of
# the group after a commit gets only newer messages.  kafkajs is installed
# from npm into $BUILD/node the first time (later runs work offline).  The
# checks live in node/kjs_roundtrip.js.
. "$(dirname "$0")/lib.sh"

NODE_DIR="$BUILD/node"
if [ ! -f "$NODE_DIR/node_modules/kafkajs/package.json" ]; then
	mkdir -p "$NODE_DIR"
	npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" kafkajs@2 >&2 ||
		it_fail "npm install kafkajs@2 into $NODE_DIR failed"
fi
it_broker_start b
it_topic_create b js-topic 3
KAFKAJS_NO_PARTITIONER_WARNING=1 NODE_PATH="$NODE_DIR/node_modules" node "$(dirname "$0")/node/kjs_roundtrip.js" "$b_ADDR" js-topic 3 ||
	it_fail "kafkajs round trip failed"
echo "test_kafkajs: ok"
