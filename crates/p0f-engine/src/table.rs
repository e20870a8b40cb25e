//! Fixed-capacity tables of hosts and flows with p0f's orderings.
//!
//! p0f keeps hosts in least-recently-touched order and flows in creation
//! order, and its expiry and eviction walk those lists from the old end.
//! Both are doubly linked lists threaded through a slab, with a hash map for
//! look-ups. Capacity is reserved up front from the `-m` limits and freed
//! slots (and their buffers) are reused, so steady-state traffic does not
//! allocate.

use std::collections::HashMap;
use std::hash::Hash;

/// Index of an entry in a [`List`]'s slab.
pub type Idx = u32;
const NIL: Idx = Idx::MAX;

struct Slot<T> {
    value: Option<T>,
    older: Idx,
    newer: Idx,
}

/// A slab of values linked from oldest to newest, keyed for look-up.
pub struct List<K, T> {
    slots: Vec<Slot<T>>,
    free: Vec<Idx>,
    map: HashMap<K, Idx, ahash::RandomState>,
    oldest: Idx,
    newest: Idx,
    len: usize,
}

impl<K: Hash + Eq + Copy, T> List<K, T> {
    pub fn with_capacity(cap: usize) -> Self {
        List {
            slots: Vec::with_capacity(cap),
            free: Vec::with_capacity(cap),
            map: HashMap::with_capacity_and_hasher(cap, ahash::RandomState::new()),
            oldest: NIL,
            newest: NIL,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn find(&self, key: &K) -> Option<Idx> {
        self.map.get(key).copied()
    }

    pub fn get(&self, i: Idx) -> &T {
        self.slots[i as usize].value.as_ref().expect("live entry")
    }

    pub fn get_mut(&mut self, i: Idx) -> &mut T {
        self.slots[i as usize].value.as_mut().expect("live entry")
    }

    pub fn oldest(&self) -> Option<Idx> {
        (self.oldest != NIL).then_some(self.oldest)
    }

    pub fn newer(&self, i: Idx) -> Option<Idx> {
        let n = self.slots[i as usize].newer;
        (n != NIL).then_some(n)
    }

    /// Inserts as the newest entry. `make` may reuse the value that last
    /// lived in the slot (to keep its buffers).
    pub fn push_newest(&mut self, key: K, make: impl FnOnce(Option<T>) -> T) -> Idx {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    value: None,
                    older: NIL,
                    newer: NIL,
                });
                (self.slots.len() - 1) as Idx
            }
        };
        let slot = &mut self.slots[i as usize];
        let recycled = slot.value.take();
        slot.value = Some(make(recycled));
        self.link_newest(i);
        self.map.insert(key, i);
        self.len += 1;
        i
    }

    /// Removes an entry; its value stays in the slot for reuse and is
    /// returned by reference for any last look.
    pub fn remove(&mut self, key: &K, i: Idx) {
        self.unlink(i);
        self.map.remove(key);
        self.free.push(i);
        self.len -= 1;
    }

    /// Makes an entry the newest.
    pub fn touch(&mut self, i: Idx) {
        if self.newest != i {
            self.unlink(i);
            self.link_newest(i);
        }
    }

    fn link_newest(&mut self, i: Idx) {
        let old_newest = self.newest;
        {
            let s = &mut self.slots[i as usize];
            s.older = old_newest;
            s.newer = NIL;
        }
        if old_newest != NIL {
            self.slots[old_newest as usize].newer = i;
        } else {
            self.oldest = i;
        }
        self.newest = i;
    }

    fn unlink(&mut self, i: Idx) {
        let (older, newer) = {
            let s = &self.slots[i as usize];
            (s.older, s.newer)
        };
        if newer != NIL {
            self.slots[newer as usize].older = older;
        } else {
            self.newest = older;
        }
        if older != NIL {
            self.slots[older as usize].newer = newer;
        } else {
            self.oldest = newer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_touch_and_remove() {
        let mut l: List<u32, &str> = List::with_capacity(4);
        let a = l.push_newest(1, |_| "a");
        let b = l.push_newest(2, |_| "b");
        let c = l.push_newest(3, |_| "c");
        assert_eq!(l.oldest(), Some(a));
        l.touch(a);
        assert_eq!(l.oldest(), Some(b));
        assert_eq!(l.newer(b), Some(c));
        assert_eq!(l.newer(c), Some(a));
        l.remove(&3, c);
        assert_eq!(l.newer(b), Some(a));
        assert_eq!(l.find(&3), None);
        assert_eq!(l.len(), 2);
        // The slot is reused and hands back its old value.
        let d = l.push_newest(4, |old| {
            assert_eq!(old, Some("c"));
            "d"
        });
        assert_eq!(d, c);
        assert_eq!(*l.get(d), "d");
    }
}
