/* helix_pace.c - see helix_pace.h. */
#include "helix_pace.h"

void etl_helix_pace_init(etl_helix_pace *p, double rate, double now_ms)
{
	p->rate_per_ms = rate / ETL_HELIX_PACE_MARGIN / 1000.0;
	/* 20 ms worth of requests, and never less than 1.2: at the documented
	 * 5/s that is one request and a fifth, so a loop turn that wakes a
	 * few ms late does not push every later request back (the fifth
	 * absorbs the delay) while 5 s still hold at most 1.2 + 5 * 5 / 1.02
	 * = 25.7, i.e. 25 requests, the 26th due 59 ms after the window; at a
	 * benchmark's 1000/s it lets one loop turn start several. */
	p->capacity = rate * 0.02;
	if (p->capacity < 1.2)
		p->capacity = 1.2;
	p->tokens = 1.0;
	p->last_ms = now_ms;
	p->blocked_until = 0;
}

static void refill(etl_helix_pace *p, double now_ms)
{
	if (now_ms > p->last_ms) {
		p->tokens += (now_ms - p->last_ms) * p->rate_per_ms;
		if (p->tokens > p->capacity)
			p->tokens = p->capacity;
		p->last_ms = now_ms;
	}
}

double etl_helix_pace_wait(etl_helix_pace *p, double now_ms)
{
	double wait = 0;

	if (now_ms < p->blocked_until)
		return p->blocked_until - now_ms;
	refill(p, now_ms);
	if (p->tokens < 1.0)
		wait = (1.0 - p->tokens) / p->rate_per_ms;
	return wait;
}

int etl_helix_pace_take(etl_helix_pace *p, double now_ms)
{
	if (etl_helix_pace_wait(p, now_ms) > 0)
		return 0;
	p->tokens -= 1.0;
	return 1;
}

void etl_helix_pace_block(etl_helix_pace *p, double until_ms)
{
	if (until_ms > p->blocked_until)
		p->blocked_until = until_ms;
	/* Refilling starts again when the block ends, with one token. */
	p->tokens = 1.0;
	p->last_ms = p->blocked_until;
}
