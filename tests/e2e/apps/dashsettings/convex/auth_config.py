# Two providers for the dashboard's Settings page (tests/e2e/test_dashboard_files_settings.py).
providers = [
    {"domain": "https://tenant.example.com", "application_id": "app-123"},
    {"type": "customJwt", "issuer": "https://jwt.example.com",
     "jwks": "https://jwt.example.com/.well-known/jwks.json", "algorithm": "RS256"},
]
