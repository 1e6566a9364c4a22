-- 登记代数：any change to what a person's eligibility is built from (register, contributions,
-- registrations, locks, employers, policies) bumps one counter, once per statement, whoever
-- writes it (yibao import, yibao register, hand-written SQL). The gateway keeps persons in
-- memory only as long as the counter it reads with each request's key is unchanged.
CREATE TABLE register_generation (id INTEGER PRIMARY KEY CHECK (id = 1), gen BIGINT NOT NULL);
INSERT INTO register_generation (id, gen) VALUES (1, 0);
CREATE FUNCTION bump_register_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE register_generation SET gen = gen + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON persons FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household_members FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON enrolments FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contributions FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person_categories FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON registrations FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON registration_events FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON locks FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON employers FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON employments FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contribution_bases FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON unit_payments FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
CREATE TRIGGER register_gen AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deferrals FOR EACH STATEMENT EXECUTE FUNCTION bump_register_generation();
