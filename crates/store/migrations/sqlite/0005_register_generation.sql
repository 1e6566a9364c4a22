-- 登记代数：any change to what a person's eligibility is built from (register, contributions,
-- registrations, locks, employers, policies) bumps one counter, by trigger, whoever writes
-- it (yibao import, yibao register, hand-written SQL). The gateway keeps persons in memory
-- only as long as the counter it reads with each request's key is unchanged.
CREATE TABLE register_generation (id INTEGER PRIMARY KEY CHECK (id = 1), gen BIGINT NOT NULL);
INSERT INTO register_generation (id, gen) VALUES (1, 0);
CREATE TRIGGER register_gen_policies_insert AFTER INSERT ON policies BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_policies_update AFTER UPDATE ON policies BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_policies_delete AFTER DELETE ON policies BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_persons_insert AFTER INSERT ON persons BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_persons_update AFTER UPDATE ON persons BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_persons_delete AFTER DELETE ON persons BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_household_members_insert AFTER INSERT ON household_members BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_household_members_update AFTER UPDATE ON household_members BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_household_members_delete AFTER DELETE ON household_members BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_enrolments_insert AFTER INSERT ON enrolments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_enrolments_update AFTER UPDATE ON enrolments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_enrolments_delete AFTER DELETE ON enrolments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contributions_insert AFTER INSERT ON contributions BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contributions_update AFTER UPDATE ON contributions BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contributions_delete AFTER DELETE ON contributions BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_person_categories_insert AFTER INSERT ON person_categories BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_person_categories_update AFTER UPDATE ON person_categories BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_person_categories_delete AFTER DELETE ON person_categories BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registrations_insert AFTER INSERT ON registrations BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registrations_update AFTER UPDATE ON registrations BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registrations_delete AFTER DELETE ON registrations BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registration_events_insert AFTER INSERT ON registration_events BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registration_events_update AFTER UPDATE ON registration_events BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_registration_events_delete AFTER DELETE ON registration_events BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_locks_insert AFTER INSERT ON locks BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_locks_update AFTER UPDATE ON locks BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_locks_delete AFTER DELETE ON locks BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employers_insert AFTER INSERT ON employers BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employers_update AFTER UPDATE ON employers BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employers_delete AFTER DELETE ON employers BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employments_insert AFTER INSERT ON employments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employments_update AFTER UPDATE ON employments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_employments_delete AFTER DELETE ON employments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contribution_bases_insert AFTER INSERT ON contribution_bases BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contribution_bases_update AFTER UPDATE ON contribution_bases BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_contribution_bases_delete AFTER DELETE ON contribution_bases BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_unit_payments_insert AFTER INSERT ON unit_payments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_unit_payments_update AFTER UPDATE ON unit_payments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_unit_payments_delete AFTER DELETE ON unit_payments BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_deferrals_insert AFTER INSERT ON deferrals BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_deferrals_update AFTER UPDATE ON deferrals BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER register_gen_deferrals_delete AFTER DELETE ON deferrals BEGIN UPDATE register_generation SET gen = gen + 1 WHERE id = 1; END;
