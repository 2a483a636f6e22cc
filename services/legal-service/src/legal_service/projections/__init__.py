"""Case events -> legal-service read models: `fold` (pure) and `handlers` (the projection)."""
