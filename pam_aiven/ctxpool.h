/*
 * ctxpool.h - ready contexts kept across PAM conversations.
 */
#ifndef PAM_AIVEN_CTXPOOL_H
#define PAM_AIVEN_CTXPOOL_H

#include <security/pam_modules.h>

#include "aivenauth.h"
#include "opts.h"

struct pa_lease {
	struct aivenauth_ctx *ctx;
	int slot;               /* pool slot, or -1: freed at release */
};

/*
 * A context with these module arguments' config applied, and *o parsed.
 * Reused from the pool when one made from the same arguments is free, in
 * this process, and neither the config file nor the cache file has been
 * replaced or modified since; otherwise made afresh (and pooled if there
 * is room).  Returns PAM_SUCCESS or the PAM code of the failure (logged).
 */
int pa_ctx_acquire(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct pa_opts *o, struct pa_lease *l);
/* Give the context back (its log callback is detached from pamh). */
void pa_ctx_release(struct pa_lease *l);

#endif
