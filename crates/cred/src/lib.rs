//! Process credentials and the Linux rules for changing them (setuid(2), setreuid(2),
//! setresuid(2) and the gid twins), as pure logic the kernel applies under its lock.
//!
//! "Privileged" is Linux's CAP_SETUID/CAP_SETGID, which a process has while its effective
//! uid is 0 (no capability sets yet: root has all, others none).
#![no_std]
#![forbid(unsafe_code)]

/// `(uid_t)-1`: leave this id unchanged.
pub const KEEP: u32 = u32::MAX;

/// Operation not permitted (EPERM): the only error these rules produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPermitted;

/// One set of ids: real, effective, saved and file-system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ids {
    pub r: u32,
    pub e: u32,
    pub s: u32,
    pub fs: u32,
}

/// A process's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cred {
    pub uid: Ids,
    pub gid: Ids,
}

impl Cred {
    /// Root: every id 0.
    pub const ROOT: Cred = Cred { uid: Ids { r: 0, e: 0, s: 0, fs: 0 }, gid: Ids { r: 0, e: 0, s: 0, fs: 0 } };

    /// CAP_SETUID / CAP_SETGID / CAP_SYS_RESOURCE: effective uid 0.
    pub fn privileged(&self) -> bool {
        self.uid.e == 0
    }

    /// setresuid(r, e, s).
    pub fn setresuid(&mut self, r: u32, e: u32, s: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.uid = setres(self.uid, p, r, e, s)?;
        Ok(())
    }

    /// setresgid(r, e, s).
    pub fn setresgid(&mut self, r: u32, e: u32, s: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.gid = setres(self.gid, p, r, e, s)?;
        Ok(())
    }

    /// setuid(u): privileged sets all three; otherwise only the effective id, to the real or
    /// saved one.
    pub fn setuid(&mut self, u: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.uid = set1(self.uid, p, u)?;
        Ok(())
    }

    /// setgid(g).
    pub fn setgid(&mut self, g: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.gid = set1(self.gid, p, g)?;
        Ok(())
    }

    /// setreuid(r, e).
    pub fn setreuid(&mut self, r: u32, e: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.uid = setre(self.uid, p, r, e)?;
        Ok(())
    }

    /// setregid(r, e).
    pub fn setregid(&mut self, r: u32, e: u32) -> Result<(), NotPermitted> {
        let p = self.privileged();
        self.gid = setre(self.gid, p, r, e)?;
        Ok(())
    }

    /// setfsuid(u): returns the previous fsuid; changes it only if allowed (never fails).
    pub fn setfsuid(&mut self, u: u32) -> u32 {
        let old = self.uid.fs;
        let i = self.uid;
        if u != KEEP && (self.privileged() || [i.r, i.e, i.s, i.fs].contains(&u)) {
            self.uid.fs = u;
        }
        old
    }

    /// setfsgid(g).
    pub fn setfsgid(&mut self, g: u32) -> u32 {
        let old = self.gid.fs;
        let i = self.gid;
        if g != KEEP && (self.privileged() || [i.r, i.e, i.s, i.fs].contains(&g)) {
            self.gid.fs = g;
        }
        old
    }
}

/// Nice values: -20 (most CPU) to 19 (least); setpriority clamps to this range.
pub const NICE_MIN: i32 = -20;
pub const NICE_MAX: i32 = 19;

impl Cred {
    /// May a process with these credentials change the nice value of one with `target`'s?
    /// (Linux's `set_one_prio_perm`: its effective uid is the target's real or effective uid,
    /// or it is privileged.)
    pub fn may_renice(&self, target: &Cred) -> bool {
        self.privileged() || self.uid.e == target.uid.r || self.uid.e == target.uid.e
    }

    /// May it lower a nice value to `nice` (more CPU) under RLIMIT_NICE's soft value `rlim`?
    /// (Linux's `can_nice`: 20 - nice at most the limit, or privileged; raising it needs
    /// nothing.)
    pub fn may_nice_to(&self, nice: i32, current: i32, rlim: u64) -> bool {
        nice >= current || self.privileged() || ((20 - nice) as u64) <= rlim
    }

    /// May a process with these credentials signal one with `target`'s? (Linux's
    /// `kill_ok_by_cred`: the sender's real or effective uid is the target's real or saved
    /// uid, or the sender is privileged.)
    pub fn may_signal(&self, target: &Cred) -> bool {
        self.privileged() || [self.uid.r, self.uid.e].iter().any(|&u| u == target.uid.r || u == target.uid.s)
    }

    /// May it read or change `target`'s resource limits? (Linux's `check_prlimit_permission`:
    /// the caller's real uid and gid equal all three of the target's, or privilege.)
    pub fn may_prlimit(&self, target: &Cred) -> bool {
        let same = |a: &Ids, id: u32| a.r == id && a.e == id && a.s == id;
        self.privileged() || (same(&target.uid, self.uid.r) && same(&target.gid, self.gid.r))
    }
}

fn setres(cur: Ids, privileged: bool, r: u32, e: u32, s: u32) -> Result<Ids, NotPermitted> {
    let allowed = |v: u32| v == KEEP || privileged || v == cur.r || v == cur.e || v == cur.s;
    if !(allowed(r) && allowed(e) && allowed(s)) {
        return Err(NotPermitted);
    }
    let pick = |v: u32, old: u32| if v == KEEP { old } else { v };
    let e = pick(e, cur.e);
    Ok(Ids { r: pick(r, cur.r), e, s: pick(s, cur.s), fs: e })
}

fn set1(cur: Ids, privileged: bool, v: u32) -> Result<Ids, NotPermitted> {
    if v == KEEP {
        return Err(NotPermitted); // Linux: -1 is not a valid id here (EINVAL/EPERM: EPERM)
    }
    if privileged {
        Ok(Ids { r: v, e: v, s: v, fs: v })
    } else if v == cur.r || v == cur.s {
        Ok(Ids { e: v, fs: v, ..cur })
    } else {
        Err(NotPermitted)
    }
}

fn setre(cur: Ids, privileged: bool, r: u32, e: u32) -> Result<Ids, NotPermitted> {
    let mut n = cur;
    if r != KEEP {
        if !privileged && r != cur.r && r != cur.e {
            return Err(NotPermitted);
        }
        n.r = r;
    }
    if e != KEEP {
        if !privileged && e != cur.r && e != cur.e && e != cur.s {
            return Err(NotPermitted);
        }
        n.e = e;
    }
    // The saved id follows the new effective one when the real id was set, or the effective
    // id was set to something other than the old real id.
    if r != KEEP || (e != KEEP && e != cur.r) {
        n.s = n.e;
    }
    n.fs = n.e;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_drops_to_user_for_good() {
        let mut c = Cred::ROOT;
        c.setresuid(1000, 1000, 1000).unwrap();
        assert_eq!(c.uid, Ids { r: 1000, e: 1000, s: 1000, fs: 1000 });
        assert!(!c.privileged());
        assert_eq!(c.setuid(0), Err(NotPermitted));
        assert_eq!(c.setresuid(0, KEEP, KEEP), Err(NotPermitted));
        c.setresuid(KEEP, 1000, KEEP).unwrap();
    }

    #[test]
    fn saved_id_lets_a_setuid_program_switch_back() {
        let mut c = Cred::ROOT;
        c.setresuid(1000, 0, 0).unwrap(); // a setuid-root program run by 1000
        c.setresuid(KEEP, 1000, KEEP).unwrap(); // drop privileges temporarily
        assert!(!c.privileged());
        c.setresuid(KEEP, 0, KEEP).unwrap(); // and regain them through the saved id
        assert!(c.privileged());
        // Unprivileged setuid only touches the effective id.
        c.setresuid(KEEP, 1000, KEEP).unwrap();
        c.setuid(0).unwrap();
        assert_eq!(c.uid, Ids { r: 1000, e: 0, s: 0, fs: 0 });
        // Privileged setuid sets all.
        c.setuid(1000).unwrap();
        assert_eq!(c.uid, Ids { r: 1000, e: 1000, s: 1000, fs: 1000 });
    }

    #[test]
    fn nice_rules() {
        let root = Cred::ROOT;
        let mut u = Cred::ROOT;
        u.setresuid(1000, 1000, 1000).unwrap();
        let mut v = Cred::ROOT;
        v.setresuid(1001, 1001, 1001).unwrap();
        assert!(root.may_renice(&u) && u.may_renice(&u) && !u.may_renice(&v) && !u.may_renice(&root));
        // Raising is free; lowering needs RLIMIT_NICE (20 - nice) or privilege.
        assert!(u.may_nice_to(5, 0, 0) && !u.may_nice_to(-1, 0, 0) && !u.may_nice_to(4, 5, 0));
        assert!(u.may_nice_to(-1, 0, 21) && !u.may_nice_to(-2, 0, 21) && root.may_nice_to(-20, 0, 0));
    }

    #[test]
    fn setreuid_rules() {
        let mut c = Cred { uid: Ids { r: 1, e: 2, s: 3, fs: 2 }, gid: Ids::default() };
        assert_eq!(c.setreuid(3, KEEP), Err(NotPermitted)); // real may become only r or e
        c.setreuid(KEEP, 3).unwrap(); // effective may become r, e or s; s follows (3 != r)
        assert_eq!(c.uid, Ids { r: 1, e: 3, s: 3, fs: 3 });
        c.setreuid(KEEP, 1).unwrap(); // e set to the old real id: s stays
        assert_eq!(c.uid, Ids { r: 1, e: 1, s: 3, fs: 1 });
    }

    #[test]
    fn signal_and_prlimit_permission() {
        let root = Cred::ROOT;
        let mut a = Cred::ROOT;
        a.setresuid(1000, 1000, 1000).unwrap();
        let mut b = Cred::ROOT;
        b.setresuid(2000, 2000, 2000).unwrap();
        assert!(root.may_signal(&a) && a.may_signal(&a));
        assert!(!a.may_signal(&root) && !a.may_signal(&b));
        let mut setuid_prog = Cred::ROOT;
        setuid_prog.setresuid(1000, 0, 0).unwrap(); // real uid 1000: its user may signal it
        assert!(a.may_signal(&setuid_prog));
        assert!(root.may_prlimit(&a) && a.may_prlimit(&a));
        assert!(!a.may_prlimit(&setuid_prog), "a setuid program's limits are not its user's to change");
        assert!(!a.may_prlimit(&b));
    }

    #[test]
    fn fsuid_and_gids() {
        let mut c = Cred::ROOT;
        assert_eq!(c.setfsuid(5), 0);
        assert_eq!(c.uid.fs, 5);
        c.setresgid(7, 7, 7).unwrap();
        c.setresuid(9, 9, 9).unwrap();
        assert_eq!(c.setresgid(0, KEEP, KEEP), Err(NotPermitted));
        assert_eq!(c.setfsgid(0), 7);
        assert_eq!(c.gid.fs, 7, "unprivileged fsgid change to a foreign id is ignored");
    }
}
