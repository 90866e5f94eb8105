//! A bounded, short-lived, in-process map: entries expire a fixed number of seconds after
//! they were put, the map never grows past its capacity (new entries are dropped until old
//! ones expire), and entries can be forgotten by key or by a predicate on their values.
//! It knows nothing of what it holds; `oauth::hot` builds the hot-path cache from it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::clock::UnixTime;

pub struct TtlMap<K, V> {
    capacity: usize,
    entries: Mutex<HashMap<K, (UnixTime, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        TtlMap {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (UnixTime, V)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key`, unless it expired at or before `now`.
    pub fn get<Q>(&self, key: &Q, now: UnixTime) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock()
            .get(key)
            .filter(|(expires, _)| *expires > now)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value` until `expires`; when the map is full of live entries, does nothing.
    pub fn put(&self, key: K, value: V, expires: UnixTime, now: UnixTime) {
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.retain(|_, (e, _)| *e > now);
            if map.len() >= self.capacity {
                return;
            }
        }
        map.insert(key, (expires, value));
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key);
    }

    /// Forgets every entry for which `stale(key, value)` holds.
    pub fn forget_where(&self, stale: impl Fn(&K, &V) -> bool) {
        self.lock().retain(|k, (_, v)| !stale(k, v));
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::TtlMap;

    #[test]
    fn entries_expire_stay_bounded_and_can_be_forgotten() {
        let map = TtlMap::new(2);
        map.put("a", 1, 10, 0);
        map.put("b", 2, 20, 0);
        map.put("c", 3, 30, 0);
        assert_eq!(map.get("c", 0), None, "full of live entries: not cached");
        assert_eq!(map.get("a", 9), Some(1));
        assert_eq!(map.get("a", 10), None, "expired");
        map.put("c", 3, 30, 15);
        assert_eq!(map.get("c", 15), Some(3), "the expired entry made room");
        map.forget_where(|_, v| *v == 2);
        assert_eq!(map.get("b", 15), None);
        map.remove("c");
        assert_eq!(map.get("c", 15), None);
    }
}
