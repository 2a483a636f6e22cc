"""Personal data encrypted per data subject, and erased by destroying the subject's key
(crypto-shredding): docs/audit.md, "Personal data and erasure"."""
