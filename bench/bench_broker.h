/*
 * bench/bench_broker.h: what the benchmark drivers share to run a `sluice
 * broker` of their own: a free port, starting the binary on a fresh
 * configuration in a given folder, and waiting until it answers Metadata.
 * Header-only (static functions), included by one .c file each.
 */
#ifndef BENCH_BROKER_H
#define BENCH_BROKER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/sl.h"

/* A TCP port free right now on 127.0.0.1, or -1. */
static int
bench_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* 1 when a TCP connection to "HOST:PORT" 'addr' (numeric IPv4) succeeds. */
static int
bench_tcp_probe(const char *addr)
{
	struct sockaddr_in a;
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd, ok;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return 1;	/* not numeric: let librdkafka find out */
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return 1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Wait until Metadata answers on 'bootstrap'; 0, or -1 after 'secs'. */
static int
bench_broker_wait(const char *bootstrap, int secs)
{
	int64_t end = sl_mono_ns() + (int64_t)secs * 1000000000;
	char es[256];

	while (sl_mono_ns() < end && !bench_tcp_probe(bootstrap))
		usleep(100000);
	while (sl_mono_ns() < end) {
		rd_kafka_conf_t *conf = rd_kafka_conf_new();
		const struct rd_kafka_metadata *md;
		rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TRANSPORT;
		rd_kafka_t *rk;

		if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, es,
		    sizeof(es)) != RD_KAFKA_CONF_OK) {
			rd_kafka_conf_destroy(conf);
			return -1;
		}
		if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es))) == NULL) {
			rd_kafka_conf_destroy(conf);
			return -1;
		}
		err = rd_kafka_metadata(rk, 1, NULL, &md, 1000);
		if (!err)
			rd_kafka_metadata_destroy(md);
		rd_kafka_destroy(rk);
		if (!err)
			return 0;
		usleep(200000);
	}
	return -1;
}

/*
 * Start the broker binary 'sluice' on a configuration written to
 * 'dir'/sluice.ini (free ports, data in 'dir'/data, stderr to
 * 'dir'/broker.log), set 'bootstrap' (of 'size' bytes) to its address and
 * wait up to 30 s for it to answer.  Returns its pid, or -1 with a sentence
 * in 'why' (the broker is killed if it started but never answered).
 */
static pid_t
bench_broker_start(const char *sluice, const char *dir, char *bootstrap, size_t size,
    char *why, size_t why_size)
{
	char ini[8192], path[4200], logp[4200];
	int port = bench_free_port(), http = bench_free_port();
	pid_t pid;

	if (port < 0 || http < 0) {
		snprintf(why, why_size, "no free port: %s", strerror(errno));
		return -1;
	}
	snprintf(ini, sizeof(ini), "[broker]\nlisten = 127.0.0.1:%d\nhttp = 127.0.0.1:%d\n"
	    "data_dir = %s/data\n", port, http, dir);
	snprintf(path, sizeof(path), "%s/sluice.ini", dir);
	if (sl_file_write_atomic(path, ini, strlen(ini)) != 0) {
		snprintf(why, why_size, "cannot write %.400s/sluice.ini", dir);
		return -1;
	}
	snprintf(bootstrap, size, "127.0.0.1:%d", port);
	if ((pid = fork()) < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		snprintf(logp, sizeof(logp), "%s/broker.log", dir);
		if (freopen(logp, "w", stderr) == NULL)
			_exit(127);
		execl(sluice, sluice, "broker", "-c", path, (char *)NULL);
		_exit(127);
	}
	if (bench_broker_wait(bootstrap, 30) != 0) {
		kill(pid, SIGKILL);
		snprintf(why, why_size, "broker at %s did not answer within 30 s", bootstrap);
		return -1;
	}
	return pid;
}

#endif /* BENCH_BROKER_H */
