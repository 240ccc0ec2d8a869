/*
 * status.c - text for status codes and decision reasons.  Switches with no
 * default, so -Wall -Werror flags any value added to an enum and forgotten
 * here (curl's strerror idea).
 */
#include "base/internal.h"

const char *
aivenauth_strerror(enum aivenauth_status st)
{
	switch (st) {
	case AIVENAUTH_OK:
		return "success";
	case AIVENAUTH_ERR_NOMEM:
		return "out of memory";
	case AIVENAUTH_ERR_INVALID:
		return "invalid argument";
	case AIVENAUTH_ERR_CONFIG:
		return "invalid configuration";
	case AIVENAUTH_ERR_IO:
		return "input/output error";
	case AIVENAUTH_ERR_UNSAFE_FILE:
		return "file is unsafe (symlink, owner or mode)";
	case AIVENAUTH_ERR_NOT_FOUND:
		return "not found";
	case AIVENAUTH_ERR_CACHE_MISSING:
		return "cache does not exist (run 'aivenctl sync')";
	case AIVENAUTH_ERR_CACHE_CORRUPT:
		return "cache is corrupt";
	case AIVENAUTH_ERR_CACHE_VERSION:
		return "cache was written by a newer version";
	case AIVENAUTH_ERR_READONLY:
		return "cache is read-only for this process";
	case AIVENAUTH_ERR_CACHE_FULL:
		return "no space left for the cache";
	case AIVENAUTH_ERR_CACHE_ACCESS:
		return "permission denied on the cache";
	case AIVENAUTH_ERR_NET:
		return "cannot reach the Aiven API";
	case AIVENAUTH_ERR_TIMEOUT:
		return "Aiven API request timed out";
	case AIVENAUTH_ERR_UNAUTHORIZED:
		return "Aiven API: token invalid or expired (401)";
	case AIVENAUTH_ERR_FORBIDDEN:
		return "Aiven API: permission denied (403)";
	case AIVENAUTH_ERR_API_NOT_FOUND:
		return "Aiven API: not found (404)";
	case AIVENAUTH_ERR_API_REJECTED:
		return "Aiven API rejected the request";
	case AIVENAUTH_ERR_RATE_LIMITED:
		return "Aiven API rate limit (429)";
	case AIVENAUTH_ERR_SERVER:
		return "Aiven API server error (5xx)";
	case AIVENAUTH_ERR_BAD_RESPONSE:
		return "invalid answer from the Aiven API";
	case AIVENAUTH_ERR_TOO_LARGE:
		return "size limit exceeded";
	case AIVENAUTH_ERR_NO_CREDENTIALS:
		return "no Aiven API token (api_token_file or AIVEN_AUTH_TOKEN)";
	case AIVENAUTH_ERR_NET_UNAVAILABLE:
		return "the network client module cannot be loaded";
	case AIVENAUTH_ERR_INTERNAL:
		return "internal error";
	case AIVENAUTH_ERR_EXISTS:
		return "already exists";
	case AIVENAUTH_ERR_MISMATCH:
		return "token belongs to another application user";
	case AIVENAUTH_ERR_IP_POLICY:
		return "Aiven API: this host's IP address is not allowed (403)";
	case AIVENAUTH_ERR_LOCAL_LIMIT:
		return "online checks of this process over their rate limit "
		    "(no API call made)";
	}
	return "unknown status";
}

const char *
aivenauth_reason_name(enum aivenauth_reason r)
{
	switch (r) {
	case AIVENAUTH_ACCEPTED:
		return "accepted";
	case AIVENAUTH_REASON_NOT_TOKEN:
		return "not-token-shaped";
	case AIVENAUTH_REASON_UNKNOWN_PREFIX:
		return "unknown-prefix";
	case AIVENAUTH_REASON_SECRET_MISMATCH:
		return "secret-mismatch";
	case AIVENAUTH_REASON_NOT_ENROLLED:
		return "not-enrolled";
	case AIVENAUTH_REASON_REVOKED:
		return "revoked";
	case AIVENAUTH_REASON_EXPIRED:
		return "expired";
	case AIVENAUTH_REASON_USER_MISMATCH:
		return "user-mismatch";
	case AIVENAUTH_REASON_ADDRESS:
		return "address-not-allowed";
	case AIVENAUTH_REASON_SCOPE:
		return "scope-missing";
	case AIVENAUTH_REASON_CACHE_STALE:
		return "cache-stale";
	case AIVENAUTH_REASON_CACHE_UNAVAILABLE:
		return "cache-unavailable";
	case AIVENAUTH_REASON_ONLINE_REJECTED:
		return "online-rejected";
	case AIVENAUTH_REASON_ONLINE_UNAVAILABLE:
		return "online-unavailable";
	case AIVENAUTH_REASON_ERROR:
		return "error";
	case AIVENAUTH_REASON_ONLINE_IP_POLICY:
		return "online-ip-policy";
	case AIVENAUTH_REASON_MAP_NO_LINE:
		return "map-no-line";
	case AIVENAUTH_REASON_MAP_NOT_LISTED:
		return "map-not-listed";
	case AIVENAUTH_REASON_MAP_FROM:
		return "map-from";
	case AIVENAUTH_REASON_MAP_SCOPE:
		return "map-scope";
	case AIVENAUTH_REASON_MAP_UNAVAILABLE:
		return "map-unavailable";
	case AIVENAUTH_REASON_ROOT_REFUSED:
		return "root-refused";
	case AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME:
		return "map-ambiguous-name";
	}
	return "unknown";
}

const char *
aivenauth_reason_text(enum aivenauth_reason r)
{
	switch (r) {
	case AIVENAUTH_ACCEPTED:
		return "token accepted";
	case AIVENAUTH_REASON_NOT_TOKEN:
		return "the password is not shaped like an Aiven token";
	case AIVENAUTH_REASON_UNKNOWN_PREFIX:
		return "no synced token has this prefix";
	case AIVENAUTH_REASON_SECRET_MISMATCH:
		return "the prefix is known but the rest of the token is wrong";
	case AIVENAUTH_REASON_NOT_ENROLLED:
		return "the token exists but this host has never seen it "
		    "(enroll it with 'aivenctl token add' or enable online = learn)";
	case AIVENAUTH_REASON_REVOKED:
		return "the token has been revoked";
	case AIVENAUTH_REASON_EXPIRED:
		return "the token has expired";
	case AIVENAUTH_REASON_USER_MISMATCH:
		return "the token belongs to another application user";
	case AIVENAUTH_REASON_ADDRESS:
		return "the client address is not in the token's ip_allowlist";
	case AIVENAUTH_REASON_SCOPE:
		return "the token lacks the required scope";
	case AIVENAUTH_REASON_CACHE_STALE:
		return "the cache is older than max_stale (is the sync timer running?)";
	case AIVENAUTH_REASON_CACHE_UNAVAILABLE:
		return "the token cache is missing, unreadable or corrupt";
	case AIVENAUTH_REASON_ONLINE_REJECTED:
		return "the Aiven API did not vouch for this token (401, 403, "
		    "or an answer about another user)";
	case AIVENAUTH_REASON_ONLINE_UNAVAILABLE:
		return "the Aiven API could not be reached for an online check";
	case AIVENAUTH_REASON_ERROR:
		return "internal error while verifying";
	case AIVENAUTH_REASON_ONLINE_IP_POLICY:
		return "the Aiven API refused the online check from this host's "
		    "address (the token's ip_allowlist or an organization IP "
		    "policy)";
	case AIVENAUTH_REASON_MAP_NO_LINE:
		return "the local account has no line in the account map";
	case AIVENAUTH_REASON_MAP_NOT_LISTED:
		return "the token's application user is not listed on the local "
		    "account's line of the account map";
	case AIVENAUTH_REASON_MAP_FROM:
		return "the client address is missing or outside the from= of "
		    "the account map line";
	case AIVENAUTH_REASON_MAP_SCOPE:
		return "the token lacks the scope= of the account map line";
	case AIVENAUTH_REASON_MAP_UNAVAILABLE:
		return "the account map is missing, unsafe or invalid (the log "
		    "says where)";
	case AIVENAUTH_REASON_ROOT_REFUSED:
		return "user_match=any never admits uid 0; give the account an "
		    "explicit line in the account map (user_match=map)";
	case AIVENAUTH_REASON_MAP_AMBIGUOUS_NAME:
		return "the account map line lists the token's application user "
		    "by a name that several application users hold; list it by "
		    "its u-id";
	}
	return "unknown reason";
}
