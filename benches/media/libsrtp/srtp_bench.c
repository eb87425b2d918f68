/*
 * libsrtp2 protect/unprotect throughput, the counterpart of benches/media/benches/srtp.rs.
 *
 * Debian ships no libsrtp test driver (no srtp_driver / rtpw package; libsrtp2-dev has the
 * library and headers only), so this is a tiny driver of our own: AES_CM_128_HMAC_SHA1_80,
 * one SSRC, RTP packets of 12 header bytes + 160 or 1200 payload bytes, the same key and
 * salt as the Rust bench, a replay window of 128 (the gateway's).
 *
 *   protect:   copy the plaintext into the buffer, set the next sequence number,
 *              srtp_protect in place (libsrtp works in place; webrtc-srtp returns a new
 *              buffer).
 *   unprotect: protect a batch of 4096 packets in order (untimed), then time
 *              srtp_unprotect of the batch in order, so every packet is new to the
 *              replay window, as on the wire.
 *
 * Each measurement runs ~1 s; 5 rounds; the median is printed.
 *
 *   gcc -O2 -o /tmp/srtp_bench benches/media/libsrtp/srtp_bench.c -lsrtp2 && /tmp/srtp_bench
 */
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 4096
#define ROUNDS 5
#define MAX_PKT (12 + 1200 + SRTP_MAX_TRAILER_LEN)

static unsigned char key[30] = "0123456789abcdefsaltsaltsaltsa";

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void make_rtp(unsigned char *p, int payload_len, uint16_t seq) {
  p[0] = 0x80;
  p[1] = 111;
  p[2] = (unsigned char)(seq >> 8);
  p[3] = (unsigned char)seq;
  uint32_t ts = (uint32_t)seq * 960u;
  p[4] = (unsigned char)(ts >> 24);
  p[5] = (unsigned char)(ts >> 16);
  p[6] = (unsigned char)(ts >> 8);
  p[7] = (unsigned char)ts;
  p[8] = 0x12;
  p[9] = 0x34;
  p[10] = 0x56;
  p[11] = 0x78;
  for (int i = 0; i < payload_len; i++) p[12 + i] = (unsigned char)i;
}

static srtp_t session(int inbound) {
  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_specific;
  policy.ssrc.value = 0x12345678;
  policy.key = key;
  policy.window_size = 128;
  policy.allow_repeat_tx = 0;
  policy.next = NULL;
  srtp_t s;
  if (srtp_create(&s, &policy) != srtp_err_status_ok) {
    fprintf(stderr, "srtp_create failed\n");
    exit(1);
  }
  return s;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ns per packet of srtp_protect, one ~1 s round. */
static double protect_round(srtp_t tx, int payload_len, uint16_t *seq) {
  unsigned char plain[MAX_PKT], buf[MAX_PKT];
  make_rtp(plain, payload_len, 0);
  long n = 0;
  double start = now_s(), el;
  do {
    for (int i = 0; i < 1000; i++) {
      memcpy(buf, plain, 12 + payload_len);
      *seq += 1;
      buf[2] = (unsigned char)(*seq >> 8);
      buf[3] = (unsigned char)*seq;
      int len = 12 + payload_len;
      if (srtp_protect(tx, buf, &len) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_protect failed\n");
        exit(1);
      }
    }
    n += 1000;
    el = now_s() - start;
  } while (el < 1.0);
  return el * 1e9 / (double)n;
}

/* ns per packet of srtp_unprotect, one ~1 s round (only the unprotect calls are timed). */
static double unprotect_round(srtp_t tx, srtp_t rx, int payload_len, uint16_t *seq) {
  static unsigned char bufs[BATCH][MAX_PKT];
  static int lens[BATCH];
  long n = 0;
  double timed = 0;
  while (timed < 1.0) {
    for (int i = 0; i < BATCH; i++) {
      *seq += 1;
      make_rtp(bufs[i], payload_len, *seq);
      lens[i] = 12 + payload_len;
      if (srtp_protect(tx, bufs[i], &lens[i]) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_protect failed\n");
        exit(1);
      }
    }
    double t = now_s();
    for (int i = 0; i < BATCH; i++) {
      srtp_err_status_t st = srtp_unprotect(rx, bufs[i], &lens[i]);
      if (st != srtp_err_status_ok) {
        fprintf(stderr, "srtp_unprotect failed: %d\n", (int)st);
        exit(1);
      }
    }
    timed += now_s() - t;
    n += BATCH;
  }
  return timed * 1e9 / (double)n;
}

int main(void) {
  if (srtp_init() != srtp_err_status_ok) {
    fprintf(stderr, "srtp_init failed\n");
    return 1;
  }
  printf("%s, AES_CM_128_HMAC_SHA1_80, median of %d rounds of ~1 s\n", srtp_get_version_string(),
         ROUNDS);
  printf("| operation | payload | ns/packet | packets/s | MiB/s (payload) |\n");
  printf("| --- | ---: | ---: | ---: | ---: |\n");
  int sizes[2] = {160, 1200};
  for (int k = 0; k < 2; k++) {
    int len = sizes[k];
    for (int op = 0; op < 2; op++) {
      srtp_t tx = session(0), rx = session(1);
      uint16_t seq = 0;
      double r[ROUNDS];
      for (int i = 0; i < ROUNDS; i++)
        r[i] = op == 0 ? protect_round(tx, len, &seq) : unprotect_round(tx, rx, len, &seq);
      qsort(r, ROUNDS, sizeof r[0], cmp);
      double ns = r[ROUNDS / 2];
      printf("| %s | %d | %.0f | %.0f | %.0f |\n", op == 0 ? "protect" : "unprotect", len, ns,
             1e9 / ns, (double)len * 1e9 / ns / 1048576.0);
      fflush(stdout);
      srtp_dealloc(tx);
      srtp_dealloc(rx);
    }
  }
  srtp_shutdown();
  return 0;
}
