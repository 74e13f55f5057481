package ratelimit

// Forget drops k's bucket: its next Allow starts from a full burst (an admin clearing a lockout).
func (l *Limiter[K]) Forget(k K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, k)
}
