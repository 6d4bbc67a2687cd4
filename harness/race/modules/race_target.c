// SPDX-License-Identifier: GPL-2.0
/*
 * race_target: the kernel functions the race explorer's scenarios trace and
 * call (harness/race). A test module of the simulated kernel, in the spirit
 * of bpf_testmod: plain C, compiled with -fpatchable-function-entry=2, so
 * every noinline function here is an ftrace location fentry/fexit attach to.
 *
 *   traced functions (each caller id owns one counter slot: no data races)
 *     race_target(id, a)        the body runs, returns 2a+1
 *     race_target_sleep(id, a)  the body sleeps in msleep(1) (voluntary switch:
 *                               an RCU-tasks quiescent state while the
 *                               trampoline's frame is still live — the
 *                               e21aa341785c case), returns 2a+1
 *
 *   caller loops (the tasks of a scenario; cond_resched() between calls is
 *   the voluntary context switch RCU-tasks waits for). With `gated` set a
 *   caller first sleeps (msleep: blocked, so no scheduler keeps picking a
 *   spinning waiter) until race_gate is non-zero: the control thread opens
 *   the gate once its first attach is done.
 *     race_caller(id, n, gated)        n calls of race_target
 *     race_caller_sleep(id, n, gated)  n calls of race_target_sleep
 *     race_call_prog(id, n, gated, bpf_func, ctx)
 *                               n runs of a BPF program, as bpf_prog_run()
 *                               runs one: rcu_read_lock, migrate_disable,
 *                               bpf_func(ctx, insnsi), then the reverse
 *   Each caller returns how many calls returned the expected value, and
 *   counts its calls in race_calls[id] (the original body counts in
 *   race_body[id]): "no lost call" is race_calls == race_body == n.
 *
 *   kfunc for sleepable programs
 *     race_sleep_kfunc(ms)      msleep(ms); the program sleeps inside the
 *                               trampoline under rcu_read_lock_trace
 */
#include <linux/kernel.h>
#include <linux/export.h>

#define RACE_MAX_CALLERS 8

/* Calls made by caller id. */
unsigned long race_calls[RACE_MAX_CALLERS];
/* Times the original body of a traced function ran for caller id. */
unsigned long race_body[RACE_MAX_CALLERS];

/* Opened by the control thread (harness/race/world.ts, step "open-gate"). */
int race_gate;

static __always_inline void race_wait_gate(int gated)
{
	while (gated && !READ_ONCE(race_gate))
		msleep(1);
}

static __always_inline void race_count_body(int id)
{
	if (id >= 0 && id < RACE_MAX_CALLERS)
		WRITE_ONCE(race_body[id], race_body[id] + 1);
}

noinline int race_target(int id, int a)
{
	OPTIMIZER_HIDE_VAR(a);
	race_count_body(id);
	return 2 * a + 1;
}

noinline int race_target_sleep(int id, int a)
{
	OPTIMIZER_HIDE_VAR(a);
	race_count_body(id);
	msleep(1);
	return 2 * a + 1;
}

static __always_inline void race_count_call(int id)
{
	if (id >= 0 && id < RACE_MAX_CALLERS)
		WRITE_ONCE(race_calls[id], race_calls[id] + 1);
}

noinline long race_caller(int id, int n, int gated)
{
	long ok = 0;

	race_wait_gate(gated);
	for (int i = 0; i < n; i++) {
		race_count_call(id);
		if (race_target(id, i) == 2 * i + 1)
			ok++;
		cond_resched();
	}
	return ok;
}

noinline long race_caller_sleep(int id, int n, int gated)
{
	long ok = 0;

	race_wait_gate(gated);
	for (int i = 0; i < n; i++) {
		race_count_call(id);
		if (race_target_sleep(id, i) == 2 * i + 1)
			ok++;
		cond_resched();
	}
	return ok;
}

typedef unsigned int (*race_bpf_func_t)(const void *ctx, const void *insnsi);

noinline long race_call_prog(int id, int n, int gated, void *bpf_func, unsigned long *ctx)
{
	race_bpf_func_t fn = (race_bpf_func_t)bpf_func;
	long ok = 0;

	race_wait_gate(gated);
	for (int i = 0; i < n; i++) {
		unsigned int ret;

		race_count_call(id);
		ctx[0] = i;
		__rcu_read_lock();
		migrate_disable();
		ret = fn(ctx, NULL);
		migrate_enable();
		__rcu_read_unlock();
		if (ret == (unsigned int)(2 * i + 1))
			ok++;
		cond_resched();
	}
	return ok;
}

noinline int race_sleep_kfunc(unsigned int ms)
{
	msleep(ms);
	return 0;
}
