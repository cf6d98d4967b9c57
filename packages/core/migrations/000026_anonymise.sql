-- Retention's `anonymise` action: the contact row stays (its id, creation time and consent statuses, so
-- reports, audience counts and campaign history stay whole) but every personal field is cleared.
-- `anonymised_at` says when; an anonymised contact has no address, so nothing is sent to it, and no
-- retention policy selects it again.
alter table contacts add column anonymised_at timestamptz;
