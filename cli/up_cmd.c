/*
 * cli/up_cmd.c: `sluice up -c FILE`, every component of FILE as supervised
 * child processes.
 *
 * The broker (when FILE has a [broker] section) starts first and the
 * sources and views only once its Kafka port accepts connections.  Each
 * child's stdout and stderr come through a pipe and are copied line by line
 * with a "name | " prefix.  A child that exits is restarted after a backoff
 * that doubles from 1 s up to 30 s and resets once it has run for 60 s.
 * SIGINT or SIGTERM stops views, then sources, then the broker (SIGTERM,
 * then SIGKILL after 10 s) and exits.
 *
 * Not a general process manager: no dependencies beyond "broker first", no
 * resource limits.  Under systemd, run the components as separate units.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/sl.h"

#define UP_MAX_CHILDREN 64
#define UP_BACKOFF_MIN_MS 1000
#define UP_BACKOFF_MAX_MS 30000
#define UP_HEALTHY_MS 60000
#define UP_STOP_GRACE_MS 10000

enum up_kind { UP_BROKER, UP_SOURCE, UP_VIEW };

struct up_child {
	enum up_kind kind;
	char *label;			/* "broker", "source app", "view users" */
	char *argv[8];			/* the command line; argv[0] is our binary */
	pid_t pid;			/* 0 when not running */
	int out_fd;			/* read end of its stdout+stderr, or -1 */
	struct sl_buf line;		/* partial line read from out_fd */
	int64_t started_ms;		/* monotonic ms of the last start */
	int64_t restart_at_ms;		/* when to start again, 0 if not waiting */
	int64_t backoff_ms;
	int restarts;
};

static volatile sig_atomic_t up_stop_requested;

static void
up_on_signal(int sig)
{
	(void)sig;
	up_stop_requested = 1;
}

static int64_t
up_now_ms(void)
{
	return sl_mono_ns() / 1000000;
}

/* Print the complete lines of 'c->line' with its prefix. */
static void
up_flush_lines(struct up_child *c, int final)
{
	size_t start = 0, i;

	for (i = 0; i < c->line.len; i++) {
		if (c->line.p[i] != '\n')
			continue;
		fprintf(stderr, "%-14s| %.*s\n", c->label, (int)(i - start),
		    (const char *)c->line.p + start);
		start = i + 1;
	}
	if (final && start < c->line.len) {
		fprintf(stderr, "%-14s| %.*s\n", c->label, (int)(c->line.len - start),
		    (const char *)c->line.p + start);
		start = c->line.len;
	}
	memmove(c->line.p, c->line.p + start, c->line.len - start);
	c->line.len -= start;
	/* A line longer than 64 KiB is printed in pieces rather than held. */
	if (c->line.len > 65536)
		up_flush_lines(c, 1);
}

static int
up_start(struct up_child *c)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* Our own process group: a terminal's ^C reaches only `up`. */
		setpgid(0, 0);
		execv(c->argv[0], c->argv);
		fprintf(stderr, "sluice: up: exec %s: %s\n", c->argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	c->pid = pid;
	c->out_fd = fds[0];
	c->started_ms = up_now_ms();
	c->restart_at_ms = 0;
	fprintf(stderr, "%-14s| started (pid %d)\n", c->label, (int)pid);
	return 0;
}

static void
up_child_add(struct up_child *kids, int *n, enum up_kind kind, const char *label,
    const char *self, const char *cfg, const char *sub, const char *opt,
    const char *name)
{
	struct up_child *c = &kids[(*n)++];
	int a = 0;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->label = sl_strdup(label);
	c->out_fd = -1;
	c->backoff_ms = UP_BACKOFF_MIN_MS;
	c->argv[a++] = sl_strdup(self);
	c->argv[a++] = sl_strdup(sub);
	c->argv[a++] = sl_strdup("-c");
	c->argv[a++] = sl_strdup(cfg);
	if (opt != NULL) {
		c->argv[a++] = sl_strdup(opt);
		c->argv[a++] = sl_strdup(name);
	}
	c->argv[a] = NULL;
}

/* Read whatever the children wrote, for up to 'wait_ms'. */
static void
up_pump(struct up_child *kids, int n, int wait_ms)
{
	struct pollfd pfd[UP_MAX_CHILDREN];
	int idx[UP_MAX_CHILDREN], np = 0, i;

	for (i = 0; i < n; i++) {
		if (kids[i].out_fd < 0)
			continue;
		pfd[np].fd = kids[i].out_fd;
		pfd[np].events = POLLIN;
		idx[np++] = i;
	}
	if (np == 0) {
		if (wait_ms > 0)
			usleep((useconds_t)wait_ms * 1000);
		return;
	}
	if (poll(pfd, (nfds_t)np, wait_ms) <= 0)
		return;
	for (i = 0; i < np; i++) {
		struct up_child *c = &kids[idx[i]];
		ssize_t r;

		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		sl_buf_reserve(&c->line, 4096);
		r = read(c->out_fd, c->line.p + c->line.len, c->line.cap - c->line.len);
		if (r > 0) {
			c->line.len += (size_t)r;
			up_flush_lines(c, 0);
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			up_flush_lines(c, 1);
			close(c->out_fd);
			c->out_fd = -1;
		}
	}
}

/* Reap exited children and schedule their restart. */
static void
up_reap(struct up_child *kids, int n, int stopping)
{
	int i, status;

	for (i = 0; i < n; i++) {
		struct up_child *c = &kids[i];
		int64_t ran;

		if (c->pid <= 0 || waitpid(c->pid, &status, WNOHANG) != c->pid)
			continue;
		c->pid = 0;
		if (stopping)
			continue;
		ran = up_now_ms() - c->started_ms;
		if (ran >= UP_HEALTHY_MS)
			c->backoff_ms = UP_BACKOFF_MIN_MS;
		if (WIFEXITED(status))
			fprintf(stderr, "%-14s| exited with status %d; restarting in %lld ms\n",
			    c->label, WEXITSTATUS(status), (long long)c->backoff_ms);
		else
			fprintf(stderr, "%-14s| killed by signal %d; restarting in %lld ms\n",
			    c->label, WTERMSIG(status), (long long)c->backoff_ms);
		c->restart_at_ms = up_now_ms() + c->backoff_ms;
		c->backoff_ms = c->backoff_ms * 2 > UP_BACKOFF_MAX_MS ?
		    UP_BACKOFF_MAX_MS : c->backoff_ms * 2;
		c->restarts++;
	}
}

/*
 * Wait until HOST:PORT accepts a TCP connection or 'timeout_ms' passes,
 * copying the children's output meanwhile.  Returns 0, -ETIMEDOUT, or
 * -ECHILD when the broker 'kids[bi]' exited first (up_reap has scheduled
 * its restart).
 */
static int
up_wait_port(const char *hostport, int64_t timeout_ms, struct up_child *kids,
    int n, int bi)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { 0 }, *ai = NULL;
	int64_t deadline = up_now_ms() + timeout_ms;
	int rc = -ETIMEDOUT;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return SL_EINVAL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host[0] ? host : "127.0.0.1", colon + 1, &hints, &ai) != 0)
		return SL_EINVAL;
	while (up_now_ms() < deadline && !up_stop_requested) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;

		if (fd >= 0)
			close(fd);
		if (ok) {
			rc = 0;
			break;
		}
		up_pump(kids, n, 100);
		up_reap(kids, n, 0);
		if (kids[bi].pid == 0) {
			rc = -ECHILD;
			break;
		}
	}
	freeaddrinfo(ai);
	return rc;
}

/* Stop every child of 'kind' with SIGTERM, then SIGKILL after the grace. */
static void
up_stop_kind(struct up_child *kids, int n, enum up_kind kind)
{
	int64_t deadline = up_now_ms() + UP_STOP_GRACE_MS;
	int i, alive;

	for (i = 0; i < n; i++)
		if (kids[i].kind == kind && kids[i].pid > 0 &&
		    kill(kids[i].pid, SIGTERM) != 0 && errno == ESRCH)
			kids[i].pid = 0;	/* already reaped */
	for (;;) {
		up_pump(kids, n, 50);
		up_reap(kids, n, 1);
		alive = 0;
		for (i = 0; i < n; i++)
			alive += kids[i].kind == kind && kids[i].pid > 0;
		if (alive == 0)
			break;
		if (up_now_ms() >= deadline) {
			for (i = 0; i < n; i++) {
				if (kids[i].kind == kind && kids[i].pid > 0) {
					fprintf(stderr, "%-14s| did not stop in %d s: SIGKILL\n",
					    kids[i].label, UP_STOP_GRACE_MS / 1000);
					if (kill(kids[i].pid, SIGKILL) != 0 && errno == ESRCH)
						kids[i].pid = 0;
				}
			}
			deadline = up_now_ms() + 5000;
		}
	}
	for (i = 0; i < n; i++)
		if (kids[i].kind == kind)
			kids[i].restart_at_ms = 0;
}

static void
up_usage(FILE *f)
{
	fprintf(f, "usage: sluice up -c FILE\n"
	    "Start the broker, every [source] and every [view] of FILE as supervised\n"
	    "child processes; SIGINT or SIGTERM stops them all.\n");
}

int
cli_up(int argc, char **argv)
{
	struct up_child kids[UP_MAX_CHILDREN];
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	char self[PATH_MAX];
	const char *path = NULL, *listen = NULL;
	struct sigaction sa;
	ssize_t sn;
	size_t i;
	int n = 0, k, rc = CLI_EXIT_OK, have_broker = 0;

	for (k = 1; k < argc; k++) {
		if ((strcmp(argv[k], "-c") == 0 || strcmp(argv[k], "--config") == 0) &&
		    k + 1 < argc) {
			path = argv[++k];
		} else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
			up_usage(stdout);
			return CLI_EXIT_OK;
		} else {
			cli_errorf("up: unexpected argument '%s'", argv[k]);
			up_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (path == NULL) {
		cli_errorf("up: -c FILE is required");
		return CLI_EXIT_USAGE;
	}
	if (sl_config_load(path, &cfg, &err) != 0) {
		cli_errorf("up: %s", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (cli_config_check_sections(cfg, &err) != 0) {
		cli_errorf("up: %s", err.msg);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sn <= 0) {
		cli_errorf("up: cannot find the sluice binary: %s", strerror(errno));
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	self[sn] = '\0';
	for (i = 0; i < cfg->n_sections && n < UP_MAX_CHILDREN; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];
		char label[64];

		if (strcmp(s->type, "broker") == 0) {
			up_child_add(kids, &n, UP_BROKER, "broker", self, path, "broker",
			    NULL, NULL);
			have_broker = 1;
			listen = sl_conf_get(s, "listen");
		} else if (strcmp(s->type, "source") == 0) {
			snprintf(label, sizeof(label), "source %s", s->name);
			up_child_add(kids, &n, UP_SOURCE, label, self, path, "capture",
			    "--source", s->name);
		} else if (strcmp(s->type, "view") == 0) {
			snprintf(label, sizeof(label), "view %s", s->name);
			up_child_add(kids, &n, UP_VIEW, label, self, path, "materialize",
			    "--view", s->name);
		}
	}
	if (n == 0) {
		cli_errorf("up: %s has no [broker], [source] or [view] section", path);
		rc = CLI_EXIT_USAGE;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = up_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The broker first, and the others once it listens. */
	for (k = 0; k < n; k++) {
		if (kids[k].kind == UP_BROKER && up_start(&kids[k]) != 0) {
			cli_errorf("up: cannot start the broker: %s", strerror(errno));
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	}
	if (have_broker) {
		int bi = 0, wrc;

		for (k = 0; k < n; k++)
			if (kids[k].kind == UP_BROKER)
				bi = k;
		wrc = up_wait_port(listen ? listen : "127.0.0.1:9092", 30000, kids, n, bi);
		if (wrc == -ECHILD)
			fprintf(stderr, "%-14s| the broker exited before listening; starting the "
			    "others, which retry until it is back\n", "up");
		else if (wrc != 0 && !up_stop_requested)
			fprintf(stderr, "%-14s| not listening after 30 s; starting the others anyway\n",
			    "up");
	}
	for (k = 0; k < n && !up_stop_requested; k++)
		if (kids[k].kind != UP_BROKER && up_start(&kids[k]) != 0)
			kids[k].restart_at_ms = up_now_ms() + kids[k].backoff_ms;

	while (!up_stop_requested) {
		int64_t now;

		up_pump(kids, n, 200);
		up_reap(kids, n, 0);
		now = up_now_ms();
		for (k = 0; k < n; k++) {
			if (kids[k].pid == 0 && kids[k].restart_at_ms != 0 &&
			    now >= kids[k].restart_at_ms && up_start(&kids[k]) != 0)
				kids[k].restart_at_ms = now + kids[k].backoff_ms;
		}
	}
	fprintf(stderr, "%-14s| stopping: views, then sources, then the broker\n", "up");
	up_stop_kind(kids, n, UP_VIEW);
	up_stop_kind(kids, n, UP_SOURCE);
	up_stop_kind(kids, n, UP_BROKER);
	up_pump(kids, n, 0);
out:
	for (k = 0; k < n; k++) {
		int a;

		if (kids[k].out_fd >= 0)
			close(kids[k].out_fd);
		sl_buf_free(&kids[k].line);
		free(kids[k].label);
		for (a = 0; kids[k].argv[a] != NULL; a++)
			free(kids[k].argv[a]);
	}
	sl_config_free(cfg);
	return rc;
}
