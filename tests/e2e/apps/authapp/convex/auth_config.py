# Replaced by the tests with the local identity provider's issuer URL.
providers = []
