#!/usr/bin/python3
"""Create a topic through the Kafka admin API (CreateTopics) with kafka-python.

Usage: create_topic.py BOOTSTRAP NAME PARTITIONS [KEY=VALUE...]

The KEY=VALUE pairs are topic configs (cleanup.policy=compact,
retention.ms=3600000).  Exit 0 when the broker created it, 1 with its error.
"""
import sys

from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, name, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
configs = dict(kv.split("=", 1) for kv in sys.argv[4:])
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="create-topic")
resp = admin.create_topics([NewTopic(name, parts, 1, topic_configs=configs)], timeout_ms=10000)
for topic, code, *rest in resp.topic_errors:
    if code != 0:
        print("create_topic: %s: error %d %s" % (topic, code, rest), file=sys.stderr)
        sys.exit(1)
admin.close()
