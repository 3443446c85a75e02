/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints vanity:vanity_sqe_issue and vanity:vanity_cqe: one event as
 * the module issues an SQE, one as it posts the CQE.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vanity

#if !defined(_VANITY_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VANITY_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vanity_sqe_issue,
	TP_PROTO(unsigned int shard, u8 opcode, u64 user_data),
	TP_ARGS(shard, opcode, user_data),
	TP_STRUCT__entry(
		__field(unsigned int, shard)
		__field(u8, opcode)
		__field(u64, user_data)
	),
	TP_fast_assign(
		__entry->shard = shard;
		__entry->opcode = opcode;
		__entry->user_data = user_data;
	),
	TP_printk("shard=%u opcode=%u user_data=0x%llx", __entry->shard,
		  __entry->opcode, __entry->user_data)
);

TRACE_EVENT(vanity_cqe,
	TP_PROTO(unsigned int shard, u64 user_data, int res),
	TP_ARGS(shard, user_data, res),
	TP_STRUCT__entry(
		__field(unsigned int, shard)
		__field(u64, user_data)
		__field(int, res)
	),
	TP_fast_assign(
		__entry->shard = shard;
		__entry->user_data = user_data;
		__entry->res = res;
	),
	TP_printk("shard=%u user_data=0x%llx res=%d", __entry->shard,
		  __entry->user_data, __entry->res)
);

#endif /* _VANITY_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
