/*
 * etcd_client.h - the etcd client's operations table (etcd.c), which the
 * module exports as aivenauth_net_ops_v1.etcd.
 */
#ifndef AIVENAUTH_NET_ETCD_CLIENT_H
#define AIVENAUTH_NET_ETCD_CLIENT_H

#include "base/etcd.h"

extern const struct aivenauth_etcd_ops etcd_ops;

#endif /* AIVENAUTH_NET_ETCD_CLIENT_H */
