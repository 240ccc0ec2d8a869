/*
 * fuzz_sasl.c - libFuzzer target: aivenauth-saslauthd's request parser
 * (saslauthd/proto.c) on arbitrary bytes, fed as the event loop feeds it
 * (every prefix, then the whole), and its policy file parser
 * (saslauthd/policy.c) on the same bytes as text.
 *
 * Checks beyond "no crash": DONE only for exactly one request whose
 * fields lie inside the input and within their caps; once a prefix is
 * refused (TOO_LONG or BAD) no longer input is accepted (the loop stops
 * reading there); the answer encoder stays within SA_ANSWER_MAX.
 *
 * The saslauthd sources are compiled in here (tools/run-fuzz builds the
 * library's objects only).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../saslauthd/proto.c"
#include "../../saslauthd/policy.c"
/* The policy's user_match, scope and account_map are pam_aiven's options,
 * parsed by its own table (not among libaivenauth's objects). */
#include "../../pam_aiven/args.c"
#include "../../pam_aiven/logfield.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sa_fields f;
	enum sa_parse r, prev = SA_PARSE_MORE;
	unsigned char out[SA_ANSWER_MAX];
	struct sp_table t;
	char err[256], *text;
	size_t n, i, total;

	if (size > SA_REQUEST_MAX + 16)
		size = SA_REQUEST_MAX + 16;
	for (n = 0; n <= size; n++) {
		r = sa_parse(data, n, &f);
		if (prev != SA_PARSE_MORE && prev != SA_PARSE_DONE &&
		    r != prev)
			abort();        /* a refusal is final */
		if (prev == SA_PARSE_DONE && r != SA_PARSE_BAD)
			abort();        /* bytes after a request */
		if (r == SA_PARSE_DONE) {
			total = 0;
			for (i = 0; i < SA_NFIELDS; i++) {
				if (f.off[i] + f.len[i] > n ||
				    f.len[i] > sa_field_max((enum sa_field)i))
					abort();
				if (memchr(data + f.off[i], 0, f.len[i]) != NULL)
					abort();
				total += 2 + f.len[i];
			}
			if (total != n)
				abort();
		}
		prev = r;
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sa_answer(out, size & 1, text) > SA_ANSWER_MAX)
		abort();
	memset(&t, 0, sizeof(t));
	(void)sp_parse(text, size, "fuzz", &t, err, sizeof(err));
	sp_free(&t);
	free(text);
	return 0;
}
