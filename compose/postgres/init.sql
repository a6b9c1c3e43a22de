-- Each service owns its database. The services also create theirs when it is
-- missing; creating both here makes the first start independent of that.
CREATE DATABASE users;
CREATE DATABASE orders;
