/*
 * accountability — farout-admin's commands for sessions and the audit log
 * (API.md "farout-admin"): `user sessions NAME`, `user logout NAME`,
 * `audit [--user NAME] [--event E] [--since YYYY-MM-DD] [--limit N]`, and
 * the audit part of `prune`. Defined in db/accountability.c.
 */
#ifndef FAROUT_ACCOUNTABILITY_H
#define FAROUT_ACCOUNTABILITY_H

#include <stdio.h>

#include "admin.h"

int accountability_user_sessions(struct admin *, const char *name);
int accountability_user_logout(struct admin *, const char *name);
/* The audit command's own arguments: 0 when well-formed, else 2 after a line on err. */
int accountability_audit_usage(int argc, char **argv, FILE *err);
int accountability_audit(struct admin *, int argc, char **argv);
/* prune's share: audit events older than AUDIT_RETENTION_DAYS. 0, or 1 after a message. */
int accountability_prune(struct admin *);

#endif
