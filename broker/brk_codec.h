/*
 * broker/brk_codec.h: bounds-checked readers and writers of the Kafka wire
 * protocol (non-flexible versions), shared by every request handler.
 *
 * A reader never reads past its end: the first failure sets 'err' and every
 * later get returns zeroes, so a handler decodes a whole request and checks
 * brk_rd_ok() once.  Array and byte lengths from the wire are checked against
 * the bytes remaining before anything is allocated.
 */
#ifndef BRK_CODEC_H
#define BRK_CODEC_H

#include <stdint.h>

#include "common/sl.h"

struct brk_rd {
	const uint8_t *p;
	const uint8_t *end;
	int err;			/* 0 or SL_ETRUNC / SL_ECORRUPT */
	const char *what;		/* field that failed, for messages */
};

static inline void
brk_rd_init(struct brk_rd *r, const void *p, size_t len)
{
	r->p = (const uint8_t *)p;
	r->end = r->p + len;
	r->err = 0;
	r->what = NULL;
}
static inline int brk_rd_ok(const struct brk_rd *r) { return r->err == 0; }
static inline size_t brk_rd_left(const struct brk_rd *r) { return (size_t)(r->end - r->p); }

int8_t brk_rd_i8(struct brk_rd *, const char *what);
int16_t brk_rd_i16(struct brk_rd *, const char *what);
int32_t brk_rd_i32(struct brk_rd *, const char *what);
int64_t brk_rd_i64(struct brk_rd *, const char *what);

/*
 * STRING: int16 length then bytes; -1 is null ('*s' = {NULL, 0}, returns 1).
 * Returns 0 for a present string, 1 for null, -1 on error.
 */
int brk_rd_string(struct brk_rd *, struct sl_slice *s, const char *what);
/* BYTES: int32 length then bytes; -1 is null; same returns. */
int brk_rd_bytes(struct brk_rd *, struct sl_slice *s, const char *what);
/*
 * ARRAY count: int32, -1 is null (returns 0 elements and sets '*is_null').
 * Fails when the count times 'min_elem_size' exceeds the bytes left, so a
 * count of 2^31 cannot make the caller allocate.  'is_null' may be NULL.
 */
int32_t brk_rd_array(struct brk_rd *, size_t min_elem_size, int *is_null,
    const char *what);
/* Copy a string into a NUL-terminated heap string (NULL for null). */
char *brk_rd_strdup(struct brk_rd *, const char *what);

/* Writers append to an sl_buf (which aborts on OOM). */
static inline void brk_wr_i8(struct sl_buf *b, int8_t v) { sl_buf_add_u8(b, (uint8_t)v); }
static inline void brk_wr_i16(struct sl_buf *b, int16_t v) { sl_buf_add_be16(b, (uint16_t)v); }
static inline void brk_wr_i32(struct sl_buf *b, int32_t v) { sl_buf_add_be32(b, (uint32_t)v); }
static inline void brk_wr_i64(struct sl_buf *b, int64_t v) { sl_buf_add_be64(b, (uint64_t)v); }
void brk_wr_string(struct sl_buf *, const char *s);		/* NULL writes -1 */
void brk_wr_stringn(struct sl_buf *, const void *s, size_t n);
void brk_wr_bytes(struct sl_buf *, const void *p, size_t n);	/* NULL writes -1 */
/* Overwrite a big-endian int32 at 'pos' (array counts, sizes known later). */
static inline void
brk_wr_patch_i32(struct sl_buf *b, size_t pos, int32_t v)
{
	sl_put_be32(b->p + pos, (uint32_t)v);
}

/* Kafka error codes used by the broker. */
enum brk_kerr {
	KERR_UNKNOWN_SERVER_ERROR = -1,
	KERR_NONE = 0,
	KERR_OFFSET_OUT_OF_RANGE = 1,
	KERR_CORRUPT_MESSAGE = 2,
	KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
	KERR_INVALID_FETCH_SIZE = 4,
	KERR_LEADER_NOT_AVAILABLE = 5,
	KERR_NOT_LEADER_OR_FOLLOWER = 6,
	KERR_REQUEST_TIMED_OUT = 7,
	KERR_MESSAGE_TOO_LARGE = 10,
	KERR_OFFSET_METADATA_TOO_LARGE = 12,
	KERR_NETWORK_EXCEPTION = 13,
	KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
	KERR_COORDINATOR_NOT_AVAILABLE = 15,
	KERR_NOT_COORDINATOR = 16,
	KERR_INVALID_TOPIC_EXCEPTION = 17,
	KERR_RECORD_LIST_TOO_LARGE = 18,
	KERR_NOT_ENOUGH_REPLICAS = 19,
	KERR_INVALID_REQUIRED_ACKS = 21,
	KERR_ILLEGAL_GENERATION = 22,
	KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
	KERR_INVALID_GROUP_ID = 24,
	KERR_UNKNOWN_MEMBER_ID = 25,
	KERR_INVALID_SESSION_TIMEOUT = 26,
	KERR_REBALANCE_IN_PROGRESS = 27,
	KERR_INVALID_COMMIT_OFFSET_SIZE = 28,
	KERR_TOPIC_AUTHORIZATION_FAILED = 29,
	KERR_GROUP_AUTHORIZATION_FAILED = 30,
	KERR_UNSUPPORTED_SASL_MECHANISM = 33,
	KERR_ILLEGAL_SASL_STATE = 34,
	KERR_UNSUPPORTED_VERSION = 35,
	KERR_TOPIC_ALREADY_EXISTS = 36,
	KERR_INVALID_PARTITIONS = 37,
	KERR_INVALID_REPLICATION_FACTOR = 38,
	KERR_INVALID_REQUEST = 42,
	KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
	KERR_POLICY_VIOLATION = 44,
	KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
	KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
	KERR_INVALID_PRODUCER_EPOCH = 47,
	KERR_INVALID_TRANSACTION_TIMEOUT = 50,
	KERR_INVALID_CONFIG = 40,
	KERR_UNKNOWN_PRODUCER_ID = 59,
	KERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
	KERR_GROUP_ID_NOT_FOUND = 69,
	KERR_MEMBER_ID_REQUIRED = 79,
	KERR_INVALID_RECORD = 87
};

/* API keys. */
enum brk_api {
	API_PRODUCE = 0, API_FETCH = 1, API_LIST_OFFSETS = 2, API_METADATA = 3,
	API_OFFSET_COMMIT = 8, API_OFFSET_FETCH = 9, API_FIND_COORDINATOR = 10,
	API_JOIN_GROUP = 11, API_HEARTBEAT = 12, API_LEAVE_GROUP = 13,
	API_SYNC_GROUP = 14, API_DESCRIBE_GROUPS = 15, API_LIST_GROUPS = 16,
	API_SASL_HANDSHAKE = 17, API_API_VERSIONS = 18, API_CREATE_TOPICS = 19,
	API_DELETE_TOPICS = 20, API_DELETE_RECORDS = 21, API_INIT_PRODUCER_ID = 22,
	API_OFFSET_FOR_LEADER_EPOCH = 23, API_DESCRIBE_CONFIGS = 32,
	API_MAX_KEY = 68
};

/*
 * REQUEST HEADER v1 (every non-flexible request), big-endian
 *   OFFSET SIZE DESCRIPTION
 *        0    2 api key
 *        2    2 api version
 *        4    4 correlation id
 *        8  2+n client id (nullable string)
 *        .    - request body
 * The frame before it is a 4-byte size of everything after the size.
 */
struct brk_req_hdr {
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	struct sl_slice client_id;	/* borrowed from the request frame */
};

/* Decode the request header; returns 0 or SL_ETRUNC. */
int brk_req_hdr_decode(struct brk_rd *r, struct brk_req_hdr *h);

#endif /* BRK_CODEC_H */
