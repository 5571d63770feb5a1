/* window.c - see window.h. */
#include "window.h"

/* floor(t / step) * step, also for instants before the epoch. */
static etl_time floor_to(etl_time t, etl_time step)
{
	etl_time q = t / step;

	if (t % step != 0 && t < 0)
		q--;
	return q * step;
}

size_t etl_window_run_cap(const etl_run_plan_in *in)
{
	size_t cap = 0;

	if (in->max_windows > 0)
		cap += (size_t)in->max_windows;
	if (in->lookback > 0)
		cap += (size_t)in->lookback;
	return cap;
}

int etl_window_plan_run(const etl_run_plan_in *in, etl_window *out, size_t cap, size_t *n,
			size_t *n_lookback)
{
	/* The end of the last complete hour: windows must end at or before it. */
	etl_time limit = etl_time_floor_hour(in->now);
	etl_time first;
	size_t k = 0, looked = 0;

	*n = 0;
	*n_lookback = 0;
	if (in->max_windows < 1 || in->lookback < 0 || cap < etl_window_run_cap(in))
		return -1;
	if (in->has_watermark)
		first = in->watermark;
	else if (in->has_start)
		first = etl_time_floor_hour(in->start);
	else
		first = limit - ETL_USEC_PER_HOUR;

	/* Re-reads only make sense for hours an earlier run already loaded. */
	if (in->has_watermark) {
		for (int i = in->lookback; i >= 1; i--) {
			etl_time since = first - (etl_time)i * ETL_USEC_PER_HOUR;

			if (since + ETL_USEC_PER_HOUR > limit)
				break;
			out[k].since = since;
			out[k].until = since + ETL_USEC_PER_HOUR;
			k++;
			looked++;
		}
	}
	for (int i = 0; i < in->max_windows; i++) {
		etl_time since = first + (etl_time)i * ETL_USEC_PER_HOUR;

		if (since + ETL_USEC_PER_HOUR > limit)
			break;
		out[k].since = since;
		out[k].until = since + ETL_USEC_PER_HOUR;
		k++;
	}
	*n = k;
	*n_lookback = looked;
	return 0;
}

int etl_window_next(etl_time since, etl_time until, etl_time step, etl_time *cursor, etl_window *out)
{
	etl_time start = *cursor < since ? since : *cursor;
	etl_time end;

	if (step <= 0 || start >= until)
		return 0;
	end = floor_to(start, step) + step;
	if (end > until)
		end = until;
	out->since = start;
	out->until = end;
	*cursor = end;
	return 1;
}

long long etl_window_count(etl_time since, etl_time until, etl_time step)
{
	if (step <= 0 || since >= until)
		return 0;
	/* Boundaries strictly inside the range, plus one. */
	return (long long)((floor_to(until - 1, step) - floor_to(since, step)) / step) + 1;
}

int etl_window_days(etl_date from, etl_date to, etl_time *since, etl_time *until)
{
	if (from > to)
		return -1;
	*since = (etl_time)from * ETL_USEC_PER_DAY;
	*until = ((etl_time)to + 1) * ETL_USEC_PER_DAY;
	return 0;
}
