"""The plans ReplyDesk starts with: seeded by a migration, then edited in the Django admin.

Plain data (no Django import). Quotas per billing period; None is unlimited. The migration that seeded them
(tenants/migrations/0004_seed_plans.py) holds its own copy: a change here needs a data migration of its own.
"""

MB = 1024 * 1024

PLANS = [
    {"code": "trial", "name": "Trial", "rank": 0, "price_cents": 0, "trial_days": 14, "is_public": False,
     "resolutions": 100, "answers": 25_000, "api_calls": 10_000, "training_runs": 20, "bots": 2, "seats": 3,
     "stored_tickets": 20_000, "upload_bytes": 25 * MB},
    {"code": "starter", "name": "Starter", "rank": 1, "price_cents": 4_900, "trial_days": None, "is_public": True,
     "resolutions": 500, "answers": 50_000, "api_calls": 100_000, "training_runs": 30, "bots": 3, "seats": 5,
     "stored_tickets": 50_000, "upload_bytes": 50 * MB},
    {"code": "growth", "name": "Growth", "rank": 2, "price_cents": 19_900, "trial_days": None, "is_public": True,
     "resolutions": 3_000, "answers": 300_000, "api_calls": 1_000_000, "training_runs": 200, "bots": 10,
     "seats": 25, "stored_tickets": 500_000, "upload_bytes": 100 * MB},
    {"code": "enterprise", "name": "Enterprise", "rank": 3, "price_cents": 99_900, "trial_days": None,
     "is_public": True, "resolutions": None, "answers": None, "api_calls": None, "training_runs": None,
     "bots": None, "seats": None, "stored_tickets": None, "upload_bytes": None},
]
