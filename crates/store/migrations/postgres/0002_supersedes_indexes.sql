-- Current rows are those no later row supersedes: look-ups by `supersedes` must be indexed.
CREATE INDEX person_categories_supersedes ON person_categories (supersedes);
CREATE INDEX locks_supersedes ON locks (supersedes);
