// SPDX-License-Identifier: MIT
// Copyright (c) 2026 kforge fixture authors
#pragma once
#include <iostream>
#include <map>
#include <string>

namespace ck_tile {
using index_t = int;

// ArgParser reads -key=value arguments over registered defaults.
class ArgParser
{
    public:
    ArgParser& insert(const std::string& key, const std::string& def, const std::string& help)
    {
        values_[key] = def;
        help_[key]   = help;
        return *this;
    }

    bool parse(int argc, char* argv[])
    {
        for(int i = 1; i < argc; ++i)
        {
            std::string a = argv[i];
            const auto eq = a.find('=');
            if(a.size() < 2 || a[0] != '-' || eq == std::string::npos || !values_.count(a.substr(1, eq - 1)))
            {
                std::cerr << "unknown argument " << a << std::endl;
                return false;
            }
            values_[a.substr(1, eq - 1)] = a.substr(eq + 1);
        }
        return true;
    }

    int get_int(const std::string& key) const { return std::stoi(values_.at(key)); }
    std::string get_str(const std::string& key) const { return values_.at(key); }

    private:
    std::map<std::string, std::string> values_, help_;
};
} // namespace ck_tile
