//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo source of package testguest
// (which embeds it for build.sh); to gcc it is a comment.

/*
 * cloudlet-iops DEV [SECONDS]: 4 KiB random read then random write IOPS on a block device, the way fio's
 * randread/randwrite with direct=1, bs=4k, iodepth=1 measure them. build.sh links it statically into the
 * test guest as /bin/cloudlet-iops; init.sh runs it when the kernel command line has cloudlet.iops=.
 *
 * It opens DEV with O_DIRECT (no guest page cache), reads 4 KiB blocks at random aligned offsets within the
 * device (BLKGETSIZE64) for SECONDS (default 5), then writes them for SECONDS, one request at a time, and
 * prints one line: "read=<iops> write=<iops>". The offsets come from a fixed-seed xorshift64* generator, so
 * every run of the same device size issues the same sequence. The write phase overwrites the device's
 * contents with a fixed pattern: only ever point it at a scratch disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: small, fast and deterministic. */
static uint64_t next_random(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* run does 4 KiB requests at random offsets for seconds and returns the rate, or -1 with errno set. */
static double run(int fd, void *buf, uint64_t blocks, double seconds, int writing)
{
	uint64_t ops = 0;
	double start = now(), elapsed;
	do {
		off_t off = (off_t)(next_random() % blocks) * BLOCK;
		ssize_t n = writing ? pwrite(fd, buf, BLOCK, off) : pread(fd, buf, BLOCK, off);
		if (n != BLOCK) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		ops++;
		elapsed = now() - start;
	} while (elapsed < seconds);
	return (double)ops / elapsed;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: cloudlet-iops DEV [SECONDS]\n");
		return 2;
	}
	double seconds = argc == 3 ? atof(argv[2]) : 5;
	if (!(seconds > 0 && seconds <= 3600)) {
		fprintf(stderr, "cloudlet-iops: bad duration %s\n", argv[2]);
		return 2;
	}
	int fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "cloudlet-iops: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	uint64_t size = 0;
	if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
		fprintf(stderr, "cloudlet-iops: BLKGETSIZE64 %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	uint64_t blocks = size / BLOCK;
	if (blocks == 0) {
		fprintf(stderr, "cloudlet-iops: %s is smaller than %d bytes\n", argv[1], BLOCK);
		return 1;
	}
	void *buf;
	int err = posix_memalign(&buf, BLOCK, BLOCK);
	if (err != 0) {
		fprintf(stderr, "cloudlet-iops: posix_memalign: %s\n", strerror(err));
		return 1;
	}
	double rd = run(fd, buf, blocks, seconds, 0);
	if (rd < 0) {
		fprintf(stderr, "cloudlet-iops: read %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(buf, 0xa5, BLOCK);
	double wr = run(fd, buf, blocks, seconds, 1);
	if (wr < 0) {
		fprintf(stderr, "cloudlet-iops: write %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (close(fd) != 0) {
		fprintf(stderr, "cloudlet-iops: close %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("read=%.0f write=%.0f\n", rd, wr);
	return 0;
}
