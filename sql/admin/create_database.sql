-- {name} is composed as a quoted identifier.
create database {name}
