"""Patient engagement: diary, mood, secure messages, internal notes, SOS."""
