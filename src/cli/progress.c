#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_format_bytes(uint64_t n, char *out, size_t cap)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;
	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	if (i == 0)
		snprintf(out, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(out, cap, "%.1f %s", v, u[i]);
}

void cli_format_time(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "%lld", (long long)t);
}

void cli_progress_init(cli_progress *p, const char *label)
{
	memset(p, 0, sizeof *p);
	p->label = label;
	p->enabled = !g_cli.quiet && isatty(STDERR_FILENO);
	p->start = now();
}

static void draw(cli_progress *p, double t)
{
	char done[32], rate[32], line[160];
	double el = t - p->start;
	double r = el > 0 ? (double)p->done / el : 0;
	cli_format_bytes(p->done, done, sizeof done);
	cli_format_bytes((uint64_t)r, rate, sizeof rate);
	if (p->total > 0) {
		char total[32];
		int width = 24;
		double frac = p->done >= p->total ? 1.0 : (double)p->done / (double)p->total;
		int fill = (int)(frac * width);
		char bar[32];
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = 0;
		cli_format_bytes(p->total, total, sizeof total);
		double eta = r > 0 && p->total > p->done ? (double)(p->total - p->done) / r : 0;
		snprintf(line, sizeof line, "%s [%s] %3.0f%% %s / %s  %s/s  ETA %d:%02d", p->label, bar,
			 frac * 100, done, total, rate, (int)eta / 60, (int)eta % 60);
	} else {
		snprintf(line, sizeof line, "%s %s  %s/s", p->label, done, rate);
	}
	fprintf(stderr, "\r%-79s", line);
	fflush(stderr);
}

void cli_progress_update(void *ctx, uint64_t done, uint64_t total)
{
	cli_progress *p = ctx;
	p->done = done;
	p->total = total;
	if (!p->enabled)
		return;
	double t = now();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	draw(p, t);
}

void cli_progress_end(cli_progress *p, bool ok)
{
	if (!p->enabled || p->last == 0)
		return;
	if (ok)
		draw(p, now());
	fputc('\n', stderr);
}
