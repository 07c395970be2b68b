/*
 * materialize/metrics.c: a view's counters, and the small HTTP endpoint
 * that serves them (GET /metrics as Prometheus text, GET /health).
 *
 * The endpoint is one thread with a blocking accept loop polled every
 * 200 ms for shutdown; each request is read (at most 4 KiB, 1 s), answered
 * and closed.  It is not a general HTTP server: anything but those two
 * paths gets 404, and nothing a client sends is kept.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "materialize/mat_int.h"

struct mat_metrics {
	_Atomic int64_t v[MAT_M__COUNT];
	char *view;
	int fd;				/* listening socket, -1 if none */
	pthread_t thread;
	int running;
	atomic_int stop;
};

static const struct {
	const char *name, *type, *help;
} metric_desc[MAT_M__COUNT] = {
	[MAT_M_EVENTS] = { "sluice_view_events_total", "counter",
	    "Change events applied to the view." },
	[MAT_M_COMMITS] = { "sluice_view_commits_total", "counter",
	    "LMDB transactions committed." },
	[MAT_M_LAG] = { "sluice_view_lag_messages", "gauge",
	    "Messages between the view's offsets and the high watermarks." },
	[MAT_M_RATE] = { "sluice_view_events_per_second", "gauge",
	    "Events applied per second over the last second." },
	[MAT_M_REBUILD] = { "sluice_view_rebuilding", "gauge",
	    "1 while a rebuild is running." },
	[MAT_M_DELAY] = { "sluice_view_delay_ms", "gauge",
	    "Milliseconds from the Kafka timestamp of the last committed message to its commit." },
};

void
mat_metrics_add(struct mat_metrics *m, int which, int64_t n)
{
	if (m)
		atomic_fetch_add(&m->v[which], n);
}

void
mat_metrics_set(struct mat_metrics *m, int which, int64_t v)
{
	if (m)
		atomic_store(&m->v[which], v);
}

int64_t
mat_metrics_get(const struct mat_metrics *m, int which)
{
	return m ? atomic_load(&((struct mat_metrics *)m)->v[which]) : 0;
}

static void
serve_one(struct mat_metrics *m, int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct sl_buf body = { 0 }, out = { 0 };
	char req[4096];
	size_t got = 0;
	ssize_t n;
	int i, code = 200;

	while (got < sizeof(req) - 1 && poll(&pfd, 1, 1000) == 1) {
		n = read(fd, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	if (strncmp(req, "GET /metrics", 12) == 0 && (req[12] == ' ' || req[12] == '?')) {
		for (i = 0; i < MAT_M__COUNT; i++)
			sl_buf_printf(&body, "# HELP %s %s\n# TYPE %s %s\n%s{view=\"%s\"} %lld\n",
			    metric_desc[i].name, metric_desc[i].help, metric_desc[i].name,
			    metric_desc[i].type, metric_desc[i].name, m->view,
			    (long long)atomic_load(&m->v[i]));
	} else if (strncmp(req, "GET /health", 11) == 0 && (req[11] == ' ' || req[11] == '?')) {
		sl_buf_printf(&body, "ok\n");
	} else {
		code = 404;
		sl_buf_printf(&body, "not found\n");
	}
	sl_buf_printf(&out, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", code,
	    code == 200 ? "OK" : "Not Found", body.len);
	sl_buf_add(&out, body.p, body.len);
	for (got = 0; got < out.len;) {
		n = write(fd, out.p + got, out.len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	sl_buf_free(&body);
	sl_buf_free(&out);
}

static void *
serve(void *arg)
{
	struct mat_metrics *m = arg;
	struct pollfd pfd = { m->fd, POLLIN, 0 };
	int c;

	while (!atomic_load(&m->stop)) {
		if (poll(&pfd, 1, 200) != 1)
			continue;
		c = accept(m->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(m, c);
		close(c);
	}
	return NULL;
}

int
mat_metrics_start(const char *listen_at, const char *view, struct mat_metrics **out,
    struct sl_err *err)
{
	struct mat_metrics *m = sl_calloc(1, sizeof(*m));
	struct addrinfo hints, *ai = NULL;
	char *host = NULL;
	const char *colon;
	int one = 1, rc = 0;

	m->fd = -1;
	m->view = sl_strdup(view);
	*out = m;
	if (listen_at == NULL)
		return 0;
	colon = strrchr(listen_at, ':');
	if (colon == NULL) {
		rc = sl_errf(err, SL_ECONFIG, "view %s: http = %s: expected HOST:PORT", view,
		    listen_at);
		goto fail;
	}
	host = sl_strndup(listen_at, (size_t)(colon - listen_at));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai) != 0 || ai == NULL) {
		rc = sl_errf(err, SL_ECONFIG, "view %s: http = %s: cannot resolve", view,
		    listen_at);
		goto fail;
	}
	m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(m->fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(m->fd, 16) != 0) {
		rc = sl_errf(err, -errno, "view %s: http %s: %s", view, listen_at,
		    strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&m->thread, NULL, serve, m)) != 0) {
		rc = sl_errf(err, -rc, "view %s: http thread: %s", view, strerror(rc));
		goto fail;
	}
	m->running = 1;
	freeaddrinfo(ai);
	free(host);
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	free(host);
	mat_metrics_stop(m);
	*out = NULL;
	return rc;
}

void
mat_metrics_stop(struct mat_metrics *m)
{
	if (m == NULL)
		return;
	atomic_store(&m->stop, 1);
	if (m->running)
		pthread_join(m->thread, NULL);
	if (m->fd >= 0)
		close(m->fd);
	free(m->view);
	free(m);
}
