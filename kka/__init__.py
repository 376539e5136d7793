"""KKA: Konferensi Kasus, case conferences for Indonesian counsellors."""
