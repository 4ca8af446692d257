print("june-relay: not built yet")
