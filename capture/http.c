/*
 * capture/http.c: the tiny HTTP/1.0 endpoint of `sluice capture` for
 * /metrics (Prometheus text) and /health.
 *
 * Capture's loop is single-threaded and already wakes at least every 100 ms,
 * so the listening socket is non-blocking and polled from that loop: each
 * call accepts the pending connections, reads one request (at most 4 KiB,
 * 200 ms), writes the whole response and closes.  No keep-alive, no
 * request bodies.  It is not a general HTTP server (the broker's is
 * libevent's evhttp; capture does not link libevent).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "capture/cap_int.h"

struct cap_http {
	int fd;
};

int
cap_http_open(const char *addr, struct cap_http **out, struct sl_err *err)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1, rc;
	size_t hl;

	*out = NULL;
	if (colon == NULL || colon == addr || colon[1] == '\0')
		return sl_errf(err, SL_ECONFIG, "http = %s: expected HOST:PORT", addr);
	hl = (size_t)(colon - addr);
	if (hl >= sizeof(host))
		return sl_errf(err, SL_ECONFIG, "http = %s: host too long", addr);
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		return sl_errf(err, SL_ECONFIG, "http = %s: %s", addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		rc = sl_errf(err, -errno, "http listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	*out = sl_calloc(1, sizeof(**out));
	(*out)->fd = fd;
	return 0;
}

void
cap_http_close(struct cap_http *h)
{
	if (h == NULL)
		return;
	close(h->fd);
	free(h);
}

static void
http_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		c += w;
		n -= (size_t)w;
	}
}

static void
http_answer(int fd, cap_http_render_fn *render, void *ctx)
{
	struct timeval tv = { 0, 200000 };
	char req[4096], path[256];
	struct sl_buf body = { 0 }, head = { 0 };
	size_t got = 0;
	int status;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = '\0';
	if (sscanf(req, "GET %255s", path) != 1) {
		status = 400;
		sl_buf_printf(&body, "bad request\n");
	} else {
		char *q = strchr(path, '?');

		if (q)
			*q = '\0';
		status = render(ctx, path, &body);
	}
	sl_buf_printf(&head, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    status == 200 ? "OK" : status == 404 ? "Not Found" : status == 503 ?
	    "Service Unavailable" : "Bad Request", body.len);
	http_write_all(fd, head.p, head.len);
	http_write_all(fd, body.p, body.len);
	sl_buf_free(&head);
	sl_buf_free(&body);
}

void
cap_http_serve(struct cap_http *h, cap_http_render_fn *render, void *ctx)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < 8; i++) {
		int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			return;		/* EAGAIN: nothing pending */
		http_answer(c, render, ctx);
		close(c);
	}
}
