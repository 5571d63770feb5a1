/* decimal.c - see decimal.h.
 *
 * Every function first splits its input into sign, integer digits, fraction
 * digits and exponent (decompose), then views the value as S x 10^e where S
 * is the run of significant digits (no leading or trailing zeros).  All the
 * arithmetic happens on that digit view, so inputs of any length are exact.
 */
#include "decimal.h"

#include <string.h>

/* Exponents beyond this are saturated: no value of that size fits anything
 * we write, and it keeps every later sum far from int64 overflow. */
#define EXP_CAP INT64_C(1000000000000)

typedef struct dec {
	int neg;
	const char *ip, *fp;	/* integer and fraction digits (not NUL-terminated) */
	size_t il, fl;
	int64_t exp;		/* the literal's exponent, saturated at +-EXP_CAP */
} dec;

/* The significant digits of a dec: value = S x 10^e, S = m digits without
 * leading or trailing zeros (m == 0 means the value is zero). */
typedef struct sig {
	const dec *d;
	size_t first, m;
	int64_t e;
} sig;

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t digit_run(const char *p)
{
	size_t n = 0;

	while (is_digit(p[n]))
		n++;
	return n;
}

/* Reads the optional exponent after 'e'/'E'; p points past the letter. */
static int read_exponent(const char *p, int64_t *out)
{
	int neg = 0;
	int64_t v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!is_digit(*p))
		return ETL_DEC_ESYNTAX;
	for (; is_digit(*p); p++)
		if (v < EXP_CAP)
			v = v * 10 + (*p - '0');
	if (*p)
		return ETL_DEC_ESYNTAX;
	if (v > EXP_CAP)
		v = EXP_CAP;
	*out = neg ? -v : v;
	return ETL_DEC_OK;
}

static int decompose(const char *s, int syntax, dec *d)
{
	const char *p = s;
	int json_ok, plain_ok;

	memset(d, 0, sizeof(*d));
	if (!s)
		return ETL_DEC_ESYNTAX;
	if (*p == '-')
		d->neg = 1, p++;
	d->ip = p;
	d->il = digit_run(p);
	if (d->il == 0)
		return ETL_DEC_ESYNTAX;
	p += d->il;
	/* JSON forbids leading zeros ("01"); a plain decimal string allows them. */
	json_ok = (syntax & ETL_DEC_JSON) && !(d->il > 1 && d->ip[0] == '0');
	plain_ok = (syntax & ETL_DEC_PLAIN) != 0;
	if (*p == '.') {
		d->fp = ++p;
		d->fl = digit_run(p);
		if (d->fl == 0)
			return ETL_DEC_ESYNTAX;
		p += d->fl;
	}
	if (json_ok && (*p == 'e' || *p == 'E'))
		return read_exponent(p + 1, &d->exp);
	if (*p || !(json_ok || plain_ok))
		return ETL_DEC_ESYNTAX;
	return ETL_DEC_OK;
}

/* The k-th digit of the integer digits followed by the fraction digits. */
static char raw_digit(const dec *d, size_t k)
{
	return k < d->il ? d->ip[k] : d->fp[k - d->il];
}

static char sig_digit(const sig *s, size_t k)
{
	return raw_digit(s->d, s->first + k);
}

static void significant(const dec *d, sig *s)
{
	size_t total = d->il + d->fl, first = 0, last;

	s->d = d;
	s->m = 0;
	s->e = 0;
	while (first < total && raw_digit(d, first) == '0')
		first++;
	if (first == total)
		return;
	last = total - 1;
	while (raw_digit(d, last) == '0')
		last--;
	s->first = first;
	s->m = last - first + 1;
	/* The last digit of the whole run has weight 10^(exp - fl); each trailing
	 * zero dropped moves S's unit up by one. */
	s->e = d->exp - (int64_t)d->fl + (int64_t)(total - 1 - last);
}

/* A bounded writer: remembers overflow instead of writing past the end. */
typedef struct wbuf {
	char *p;
	size_t n, len;
	int full;
} wbuf;

static void w_put(wbuf *w, char c)
{
	if (w->len + 1 < w->n)
		w->p[w->len++] = c;
	else
		w->full = 1;
}

static void w_repeat(wbuf *w, char c, int64_t count)
{
	for (int64_t i = 0; i < count && !w->full; i++)
		w_put(w, c);
}

static int w_finish(wbuf *w)
{
	if (w->n)
		w->p[w->len < w->n ? w->len : w->n - 1] = '\0';
	return w->full ? ETL_DEC_ERANGE : ETL_DEC_OK;
}

int etl_decimal_to_cents(const char *s, int syntax, int64_t *out)
{
	dec d;
	sig g;
	uint64_t v = 0, limit;
	int64_t zeros;
	int rc = decompose(s, syntax, &d);

	if (rc)
		return rc;
	significant(&d, &g);
	if (g.m == 0) {
		*out = 0;
		return ETL_DEC_OK;
	}
	if (g.e < -2)
		return ETL_DEC_ESCALE;
	zeros = g.e + 2;
	/* 19 digits is the most int64 can hold; this also bounds the loops. */
	if ((int64_t)g.m + zeros > 19)
		return ETL_DEC_ERANGE;
	limit = d.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t k = 0; k < g.m + (size_t)zeros; k++) {
		unsigned digit = k < g.m ? (unsigned)(sig_digit(&g, k) - '0') : 0;

		if (v > (limit - digit) / 10)
			return ETL_DEC_ERANGE;
		v = v * 10 + digit;
	}
	/* v - 1 keeps INT64_MIN's magnitude inside int64 before negating. */
	*out = d.neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return ETL_DEC_OK;
}

int etl_decimal_to_int64(const char *s, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	uint64_t v = 0, limit;
	size_t n;

	if (!s)
		return ETL_DEC_ESYNTAX;
	if (*p == '-')
		neg = 1, p++;
	n = digit_run(p);
	if (n == 0 || p[n] || (n > 1 && p[0] == '0'))
		return ETL_DEC_ESYNTAX;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (limit - digit) / 10)
			return ETL_DEC_ERANGE;
		v = v * 10 + digit;
	}
	*out = neg && v ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return ETL_DEC_OK;
}

int etl_decimal_canonical(const char *s, int syntax, char *out, size_t n, int *sign)
{
	dec d;
	sig g;
	wbuf w = { out, n, 0, 0 };
	int rc = decompose(s, syntax, &d);

	if (rc)
		return rc;
	significant(&d, &g);
	if (sign)
		*sign = g.m == 0 ? 0 : d.neg ? -1 : 1;
	if (g.m == 0) {
		w_put(&w, '0');
		return w_finish(&w);
	}
	if (d.neg)
		w_put(&w, '-');
	if (g.e >= 0) {
		for (size_t k = 0; k < g.m; k++)
			w_put(&w, sig_digit(&g, k));
		w_repeat(&w, '0', g.e);
	} else {
		/* before = digits left of the point; <= 0 means "0." and zeros */
		int64_t before = (int64_t)g.m + g.e;

		if (before <= 0) {
			w_put(&w, '0');
			w_put(&w, '.');
			w_repeat(&w, '0', -before);
		}
		for (size_t k = 0; k < g.m && !w.full; k++) {
			if (before > 0 && (int64_t)k == before)
				w_put(&w, '.');
			w_put(&w, sig_digit(&g, k));
		}
	}
	return w_finish(&w);
}

void etl_decimal_format_cents(int64_t cents, char *out, size_t n)
{
	char tmp[ETL_DEC_CENTS_BUF];
	size_t i = sizeof(tmp);
	/* The magnitude as unsigned: -INT64_MIN does not exist in int64. */
	uint64_t v = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	wbuf w = { out, n, 0, 0 };

	/* Digits right to left, at least three ("0.05"), the point before the last two. */
	for (int k = 0; v || k < 3; k++) {
		if (k == 2)
			tmp[--i] = '.';
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	}
	if (cents < 0)
		w_put(&w, '-');
	for (; i < sizeof(tmp); i++)
		w_put(&w, tmp[i]);
	w_finish(&w);
}

/* Adds one to the decimal digits p[0..len), which may carry into a new
 * leading digit: returns 1 when p must grow by a leading '1'. */
static int increment(char *p, size_t len)
{
	for (size_t k = len; k-- > 0;) {
		if (p[k] != '9') {
			p[k]++;
			return 0;
		}
		p[k] = '0';
	}
	return 1;
}

/* Writes K = round(|value| x 10^scale) as digits (none when K is 0). */
static void round_digits(const sig *g, int scale, wbuf *w)
{
	int64_t shift = g->e + scale, keep;

	if (g->m == 0)
		return;
	if (shift >= 0) {
		for (size_t k = 0; k < g->m; k++)
			w_put(w, sig_digit(g, k));
		w_repeat(w, '0', shift);
		return;
	}
	keep = (int64_t)g->m + shift;	/* digits left after dropping -shift */
	if (keep < 0)
		return;		/* below half a unit: rounds to 0 */
	for (int64_t k = 0; k < keep; k++)
		w_put(w, sig_digit(g, (size_t)k));
	/* Half away from zero on the magnitude: the first dropped digit decides. */
	if (sig_digit(g, (size_t)keep) >= '5' && !w->full && increment(w->p + w->len - keep, (size_t)keep)) {
		w_put(w, '0');
		if (!w->full) {
			memmove(w->p + w->len - keep, w->p + w->len - keep - 1, (size_t)keep);
			w->p[w->len - keep - 1] = '1';
		}
	}
}

int etl_decimal_round(const char *in, int scale, char *out, size_t n)
{
	dec d;
	sig g;
	wbuf w = { out, n, 0, 0 };
	size_t len, pad;
	int rc = decompose(in, ETL_DEC_JSON | ETL_DEC_PLAIN, &d), nonzero = 0;

	if (!rc && (scale < 0 || scale > ETL_DEC_MAX_SCALE))
		rc = ETL_DEC_ESYNTAX;
	if (rc || n < 2) {
		if (n)
			out[0] = '\0';
		return rc ? rc : ETL_DEC_ERANGE;
	}
	significant(&d, &g);
	/* Digits go after a slot for the sign (out + 1 + len stays below
	 * out + n); the point is inserted at the end. */
	w.p = out + 1;
	round_digits(&g, scale, &w);
	len = w.len;
	for (size_t k = 0; k < len; k++)
		nonzero |= w.p[k] != '0';
	/* A negative that rounds to zero prints as "0.00", not "-0.00". */
	if (d.neg && nonzero) {
		out[0] = '-';
	} else {
		memmove(out, out + 1, len);
		w.p = out;
	}
	/* At least scale + 1 digits, so there is a digit before the point. */
	pad = len < (size_t)scale + 1 ? (size_t)scale + 1 - len : 0;
	if (w.full || (size_t)(w.p - out) + len + pad + (scale > 0) + 1 > n) {
		out[0] = '\0';
		return ETL_DEC_ERANGE;
	}
	memmove(w.p + pad, w.p, len);
	memset(w.p, '0', pad);
	len += pad;
	if (scale > 0) {
		memmove(w.p + len - scale + 1, w.p + len - scale, (size_t)scale);
		w.p[len - scale] = '.';
		len++;
	}
	w.p[len] = '\0';
	return ETL_DEC_OK;
}
