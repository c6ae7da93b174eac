"""Records (RMS): one picture of each person, object, location and event, with links;
crime recording, intelligence, MoPI reviews, search and duplicate detection."""
