/*
 * broker/http.c: the broker's HTTP port (evhttp on the same loop):
 *   GET /metrics  Prometheus text from metrics.c
 *   GET /health   "ok" with 200 while the loop runs
 * Anything else is 404.  Not an admin API (topics are managed over Kafka).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "broker/brk_int.h"

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct brk_broker *b = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);

	if (path == NULL)
		path = "/";
	if (strcmp(path, "/metrics") == 0) {
		struct sl_buf text = { 0 };

		brk_metrics_format(b, &text);
		evbuffer_add(out, text.p, text.len);
		sl_buf_free(&text);
		evhttp_add_header(hdrs, "Content-Type", "text/plain; version=0.0.4");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/health") == 0) {
		evbuffer_add_printf(out, "ok\n");
		evhttp_add_header(hdrs, "Content-Type", "text/plain");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else {
		evbuffer_add_printf(out, "not found\n");
		evhttp_send_reply(req, 404, "Not Found", NULL);
	}
}

int
brk_http_start(struct brk_broker *b, struct sl_err *err)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char *host = NULL;
	int port, rc;

	if ((rc = brk_parse_hostport(b->cfg.http, &host, &port, err)) != 0)
		return rc;
	b->http = evhttp_new(b->base);
	evhttp_set_gencb(b->http, http_cb, b);
	evhttp_set_allowed_methods(b->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(b->http, 4096);
	evhttp_set_timeout(b->http, 30);
	s = evhttp_bind_socket_with_handle(b->http, host[0] != '\0' ? host : "0.0.0.0",
	    (ev_uint16_t)port);
	if (s == NULL) {
		rc = -EADDRINUSE;
		sl_errf(err, rc, "http %s: cannot bind", b->cfg.http);
		free(host);
		return rc;
	}
	if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) == 0)
		b->http_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	free(host);
	return 0;
}

void
brk_http_stop(struct brk_broker *b)
{
	if (b->http != NULL) {
		evhttp_free(b->http);
		b->http = NULL;
	}
}
