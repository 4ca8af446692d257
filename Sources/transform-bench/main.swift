print("transform-bench: not built yet")
