"""Live updates: workers publish output batches and status changes to Redis after each commit;
every web process relays them to its WebSocket clients (/api/ws).

The database stays the source of truth: a client that connects late, reconnects or misses a
message reads what it lacks from the stored output, so pub/sub is only the fast path.
"""
