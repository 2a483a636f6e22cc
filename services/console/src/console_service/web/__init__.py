"""The console's pages: sign-in, the collector's queue and case screen, audit, dashboard, legal."""
