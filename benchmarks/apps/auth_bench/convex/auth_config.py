# The benchmark writes the real providers here (its own keys, as a data: URI).
providers = []
