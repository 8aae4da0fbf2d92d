//! Determinism shim for the simulator (sim builds on Linux only).
//!
//! raft-rs draws its randomized election timeout from rand 0.8's `thread_rng`, which
//! seeds itself through getrandom 0.2, which calls `libc::syscall(SYS_getrandom, ..)`.
//! madsim overrides the `getrandom` *function* but not the raw system call, so those
//! draws would come from the kernel and a seed would not replay. This module defines
//! the `syscall` symbol for the whole test binary: `SYS_getrandom` goes to madsim's
//! `getrandom` (the simulation's seeded RNG inside a simulation, the kernel outside),
//! and every other call goes to libc's `syscall`, found once with
//! `dlsym(RTLD_NEXT, "syscall")`.
//!
//! Exactly one crate in a binary may define this symbol; in this workspace it is this
//! one. [`install`] does nothing at run time but keeps the symbol linked in.

#[cfg(all(madsim, target_os = "linux"))]
mod imp {
    use libc::c_long;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// libc's `syscall`, resolved on first use (0 until then).
    static REAL_SYSCALL: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" {
        // Defined (with `#[no_mangle]`) by madsim: deterministic inside a simulation.
        fn getrandom(buf: *mut u8, buflen: usize, flags: u32) -> isize;
    }

    type RealSyscall = unsafe extern "C" fn(c_long, ...) -> c_long;

    fn real_syscall() -> RealSyscall {
        let mut ptr = REAL_SYSCALL.load(Ordering::Acquire);
        if ptr == 0 {
            // SAFETY: dlsym with a valid NUL-terminated name; RTLD_NEXT finds the next
            // definition after this binary's, i.e. libc's.
            ptr = unsafe { libc::dlsym(libc::RTLD_NEXT, c"syscall".as_ptr()) } as usize;
            assert!(ptr != 0, "sim_rand: libc's syscall not found");
            REAL_SYSCALL.store(ptr, Ordering::Release);
        }
        // SAFETY: `ptr` is libc's `syscall`, whose C signature is `long syscall(long, ...)`.
        unsafe { std::mem::transmute::<usize, RealSyscall>(ptr) }
    }

    /// The interposed `syscall(2)` wrapper.
    ///
    /// Declared with six fixed argument registers instead of C varargs (which stable
    /// Rust cannot define): on the Linux x86-64 and AArch64 ABIs a variadic callee reads
    /// integer arguments from the same registers, and every system call takes at most
    /// six.
    ///
    /// # Safety
    ///
    /// Same contract as libc's `syscall`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn syscall(
        num: c_long,
        a1: c_long,
        a2: c_long,
        a3: c_long,
        a4: c_long,
        a5: c_long,
        a6: c_long,
    ) -> c_long {
        if num == libc::SYS_getrandom {
            // SAFETY: the caller passed getrandom(2)'s (buf, buflen, flags).
            return unsafe { getrandom(a1 as *mut u8, a2 as usize, a3 as u32) } as c_long;
        }
        // SAFETY: forwarding the caller's arguments unchanged.
        unsafe { real_syscall()(num, a1, a2, a3, a4, a5, a6) }
    }

    pub(crate) fn install() {
        std::hint::black_box(syscall as *const ());
    }
}

/// Keeps the `syscall` interposer linked into the binary (a no-op outside sim builds
/// on Linux). The Raft node calls it when it starts.
pub fn install() {
    #[cfg(all(madsim, target_os = "linux"))]
    imp::install();
}
