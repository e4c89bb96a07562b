// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <map>
#include <sstream>
#include <string>

namespace cli {
// Parser reads "-name value" options over defaults.
class Parser
{
    public:
    Parser(int argc, char** argv) : argc_(argc), argv_(argv) {}

    template <typename T>
    void set_optional(const std::string& name, const std::string& alt, T def, const std::string& help)
    {
        std::ostringstream s;
        s << def;
        values_[name] = s.str();
        (void)alt;
        (void)help;
    }

    bool run_and_exit_if_error()
    {
        for(int i = 1; i + 1 < argc_; i += 2)
        {
            const std::string k = argv_[i];
            if(k.size() < 2 || k[0] != '-' || !values_.count(k.substr(1)))
                return false;
            values_[k.substr(1)] = argv_[i + 1];
        }
        return argc_ % 2 == 1;
    }

    template <typename T>
    T get(const std::string& name) const
    {
        std::istringstream s(values_.at(name));
        T v{};
        s >> v;
        return v;
    }

    private:
    int argc_;
    char** argv_;
    std::map<std::string, std::string> values_;
};
} // namespace cli
